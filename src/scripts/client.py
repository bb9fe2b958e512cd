#!/usr/bin/env python3
"""A client written the way a user writes one: Python's urllib, one connection per request, no keep-alive.

Against one node, for one side (this plugin's `embed` + `embed_knn`, or ml-commons' `text_embedding` + `neural`):
  1. creates an index and its pipeline, sends DOCS SciFact documents (title + " " + text) in bulks of BULK;
  2. sends QUERIES SciFact test queries one at a time, one client, and takes the p50 / p99 of the client's time;
  3. runs CLIENTS threads for SECONDS, each sending other SciFact queries one at a time, and counts queries/s.
Every query text is sent once, so no side answers from a cache. Prints one JSON line with the figures.

  client.py --url http://127.0.0.1:19200 --side ours --model bge-small-en-v1.5-int8 --data ../shared/data
  client.py --url http://127.0.0.1:19295 --side mlcommons --model-id ID --data ../shared/data
"""
import argparse
import json
import statistics
import threading
import time
import urllib.error
import urllib.request


def call(url, method, path, body=None, content_type="application/json"):
    data = None
    if body is not None:
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def ok(result):
    status, body = result
    if status >= 300:
        raise SystemExit(f"{status}: {json.dumps(body)[:1000]}")
    return body


def read_data(data):
    docs, queries = [], []
    with open(f"{data}/scifact/corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs.append(d["title"] + " " + d["text"])
    with open(f"{data}/scifact/queries.jsonl", encoding="utf-8") as f:
        for line in f:
            queries.append(json.loads(line)["text"])
    return docs, queries


def setup(args, index):
    if args.side == "ours":
        ok(call(args.url, "PUT", f"/{index}", {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"body": {"type": "text"},
                                        "vec": {"type": "embedding", "model": args.model}}}}))
        ok(call(args.url, "PUT", f"/_ingest/pipeline/{index}", {
            "processors": [{"embed": {"model": args.model, "field_map": {"body": "vec"}}}]}))
    else:
        ok(call(args.url, "PUT", f"/_ingest/pipeline/{index}", {
            "processors": [{"text_embedding": {"model_id": args.model_id, "field_map": {"body": "vec"}}}]}))
        ok(call(args.url, "PUT", f"/{index}", {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0, "index.knn": True,
                         "default_pipeline": index},
            "mappings": {"properties": {"body": {"type": "text"},
                                        "vec": {"type": "knn_vector", "dimension": 384,
                                                "method": {"name": "hnsw", "engine": "lucene",
                                                           "space_type": "innerproduct"}}}}}))


def query(args, index, text):
    if args.side == "ours":
        q = {"embed_knn": {"vec": {"query_text": text, "k": 10}}}
    else:
        q = {"neural": {"vec": {"query_text": text, "model_id": args.model_id, "k": 10}}}
    return ok(call(args.url, "POST", f"/{index}/_search", {"size": 10, "_source": False, "query": q}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--side", choices=["ours", "mlcommons"], required=True)
    p.add_argument("--model", default="bge-small-en-v1.5-int8")
    p.add_argument("--model-id")
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--index", default="client")
    p.add_argument("--docs", type=int, default=1000)
    p.add_argument("--bulk", type=int, default=100)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=30)
    args = p.parse_args()
    docs, queries = read_data(args.data)
    index = args.index
    setup(args, index)

    start = time.perf_counter()
    for begin in range(0, args.docs, args.bulk):
        lines = []
        for i in range(begin, min(args.docs, begin + args.bulk)):
            lines.append(json.dumps({"index": {"_id": str(i)}}))
            lines.append(json.dumps({"body": docs[i]}))
        path = f"/{index}/_bulk" + (f"?pipeline={index}" if args.side == "ours" else "")
        body = ok(call(args.url, "POST", path, "\n".join(lines) + "\n", "application/x-ndjson"))
        if body["errors"]:
            raise SystemExit("bulk errors: " + json.dumps(body)[:1000])
    ingest = args.docs / (time.perf_counter() - start)
    ok(call(args.url, "POST", f"/{index}/_refresh"))

    lone = []
    for text in queries[:args.queries]:
        t0 = time.perf_counter()
        query(args, index, text)
        lone.append((time.perf_counter() - t0) * 1000)
    lone.sort()

    pool = queries[args.queries:]
    lock = threading.Lock()
    taken = [0]
    done = [0]
    errors = [0]
    stop = time.perf_counter() + args.seconds

    def worker():
        while time.perf_counter() < stop:
            with lock:
                i = taken[0]
                taken[0] += 1
            text = pool[i % len(pool)] + ("" if i < len(pool) else f" ({i // len(pool)})")
            try:
                query(args, index, text)
                with lock:
                    done[0] += 1
            except SystemExit:
                with lock:
                    errors[0] += 1

    before = encoder_stats(args)
    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    qps = done[0] / (time.perf_counter() - t0)
    figures = {"side": args.side, "model": args.model if args.side == "ours" else args.model_id,
               "ingest_docs_per_s": round(ingest, 2),
               "p50_ms": round(statistics.median(lone), 2),
               "p99_ms": round(lone[int(len(lone) * 0.99) - 1], 2),
               "qps": round(qps, 2), "errors": errors[0]}
    after = encoder_stats(args)
    if before and after:
        # what the model's thread did during the many-client phase: how many queries one encode took, and where its
        # time went (the plugin's own timers)
        d = {k: after[k] - before[k] for k in after if k in before}
        if d.get("encodes"):
            figures["many_clients"] = {
                "queries_per_encode": round(d["texts"] / d["encodes"], 2),
                "padded_per_real_token": round(d["padded_tokens"] / max(1, d["tokens"]), 2),
                "run_ms_per_query": round(d["run_nanos"] / 1e6 / max(1, d["texts"]), 2),
                "tokenize_ms_per_query": round(d["tokenize_nanos"] / 1e6 / max(1, d["texts"]), 2),
                "model_thread_busy": round((d["run_nanos"] + d["tokenize_nanos"]) / 1e9 / args.seconds, 2)}
    print(json.dumps(figures))


def encoder_stats(args):
    """This plugin's counters of the model (ours only): texts, tokens and the query stages' nanoseconds."""
    if args.side != "ours":
        return None
    status, body = call(args.url, "GET", "/_plugins/_embeddings/stats")
    if status != 200:
        return None
    model = next(iter(body["nodes"].values()))["models"].get(args.model)
    if model is None:
        return None
    stages = model["query_stages"]
    return {"texts": model["texts"], "tokens": model["tokens"], "padded_tokens": model["padded_tokens"],
            "encodes": stages["encodes"], "run_nanos": stages["run_nanos"],
            "tokenize_nanos": stages["tokenize_nanos"]}


if __name__ == "__main__":
    main()
