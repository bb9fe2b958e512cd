#!/usr/bin/env bash
# Quality evaluations through a real node (not part of the CI test run).
#   eval.sh scifact MODEL [DATA_DIR]   BEIR retrieval: nDCG@10 and Recall@100 for embed_knn and BM25
#   eval.sh sts MODEL...                STSBenchmark test Spearman through a real node's REST embed API (role none)
#   eval.sh sts-encoder MODEL...        the same through the in-process encoder, no node
#   eval.sh int8 [MODEL...]             fp32, -int8 and -q side by side through a real node: SciFact nDCG@10 (exact),
#                                       int8 queries on fp32 documents, STS Spearman, per-text cosine to fp32
#   eval.sh int8-quality [MODEL...]     the int8 quality lines through a real node: STSB, STSB-normalized,
#                                       SciFact-titles and STSB-paraphrases at 1, 64 and 1,000 texts per embed call,
#                                       SciFact through _bulk at 100 and 1,000 documents per bulk, against fp32
#   eval.sh longdocs [MODEL...]         long documents (SciFact abstracts four to a document) and SciFact itself
#                                       through a real node: whole-document vector vs passages vs BM25 vs fusion
#                                       (docs/passages.md); -Deval.sets=longdocs|scifact, -Deval.chunking='{...}'
#   eval.sh sweep MODEL SET CONFIG...   SET: longdocs, longdocs-runon, longdocs-alt, longdocs-untitled,
#                                       longdocs-untitled-runon or scifact;
#                                       chunking sweep in process (encoder + exact max-sim, no node); CONFIG is
#                                       max_tokens:overlap_tokens[:tail] or whole (see docs/passages.md)
#   eval.sh scifact-noise MODEL [SEEDS] in process: how far SciFact nDCG@10 moves when every fp32 vector is turned by
#                                       its own text's int8 angle (the noise floor under the int8 quality line)
#   eval.sh reuse [MODEL] [DATA_DIR]    inference paid once, vectors stored once, on SciFact through a real node: a
#                                       first pass, an unchanged second pass, _reindex, store bytes per document,
#                                       nDCG@10 on the copy, 500 changed documents (docs/reference.md)
# MODEL is one of the folders under target/models (bge-small-en-v1.5, e5-small-v2, all-minilm-l6-v2, and -q).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$EMBEDDINGS_ROOT"
what=${1:?usage: eval.sh scifact|longdocs|sts|sts-encoder|int8|sweep MODEL...}; shift
case "$what" in scifact|longdocs|sts|int8|int8-quality|reuse) ensure_built ;; esac
cp=$(test_classpath)
props=($(java_props eval-nodes))
case "$what" in
  scifact) exec java ${EVAL_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.eval.SciFactEval "$@" ;;
  sts) exec java ${EVAL_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.eval.StsEval --node --models "$EMBEDDINGS_ROOT/target/models" "$@" ;;
  int8-quality) exec java ${EVAL_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.eval.Int8QualityEval "$@" ;;
  int8) exec java ${EVAL_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.eval.Int8Eval "$@" ;;
  reuse) exec java ${EVAL_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.eval.ReuseEval "$@" ;;
  longdocs) exec java ${EVAL_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.eval.LongDocsEval "$@" ;;
  sweep) exec java ${EVAL_OPTS:--Xmx6g} "${props[@]}" -cp "$cp" org.embeddings.eval.PassageSweep "$@" ;;
  scifact-noise) exec java ${EVAL_OPTS:--Xmx4g} "${props[@]}" -cp "$cp" org.embeddings.eval.SciFactNoise "$@" ;;
  sts-encoder) exec java ${EVAL_OPTS:-} "${props[@]}" -cp "$cp" org.embeddings.eval.StsEval "$@" ;;
  *) echo "unknown evaluation [$what]" >&2; exit 2 ;;
esac
