package org.embeddings.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/** Draws the benchmarks' line charts as PNG files (XChart), one series per map entry. */
final class Charts {
    private Charts() {}

    static void line(
            Path file,
            String title,
            String xTitle,
            String yTitle,
            List<? extends Number> x,
            Map<String, List<? extends Number>> series,
            boolean logX)
            throws Exception {
        XYChart chart = new XYChartBuilder()
                .width(800)
                .height(480)
                .title(title)
                .xAxisTitle(xTitle)
                .yAxisTitle(yTitle)
                .build();
        chart.getStyler().setXAxisLogarithmic(logX);
        chart.getStyler().setMarkerSize(8);
        for (Map.Entry<String, List<? extends Number>> s : series.entrySet()) {
            chart.addSeries(s.getKey(), x, s.getValue());
        }
        Files.createDirectories(file.getParent());
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        System.out.println("chart: " + file);
    }
}
