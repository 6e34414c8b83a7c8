import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("Prometheus text exposition")
struct PrometheusTextTests {
    static func fixture(_ name: String) throws -> String {
        String(decoding: try Repository.read(Repository.fixture("PHCCoreTests", name)), as: UTF8.self)
    }

    @Test(
        "every sample node_exporter read from a textfile is read the same way here",
        arguments: ["different_metric_types", "histogram", "summary", "inconsistent_metrics"])
    func nodeExporterTextfiles(name: String) throws {
        let ours = try PrometheusText.parse(try Self.fixture("node_exporter-textfile-\(name).prom"))
        let theirs = try PrometheusText.parse(try Self.fixture("node_exporter-textfile-\(name).out"))
        let expected = theirs.samples.filter { !$0.name.hasPrefix("node_textfile_") }
        #expect(!expected.isEmpty)
        for sample in expected {
            // node_exporter fills labels missing from some lines with "": compare without them.
            let labels = sample.labels.filter { !$0.value.isEmpty }
            let match = ours.samples.contains { candidate in
                candidate.name == sample.name && candidate.labels == labels
                    && (candidate.value == sample.value || candidate.value.isNaN && sample.value.isNaN)
            }
            #expect(match, "\(sample.name)\(labels) = \(sample.value)")
        }
        #expect(ours.samples.count == expected.count)
        for (family, type) in theirs.types where !family.hasPrefix("node_textfile_") {
            #expect(ours.types[family] == type, "\(family)")
        }
    }

    @Test("a client-side timestamp is read (node_exporter refuses such files; a parser need not)")
    func timestamps() throws {
        let parsed = try PrometheusText.parse(try Self.fixture("node_exporter-textfile-client_side_timestamp.prom"))
        #expect(
            parsed.samples == [
                MetricSample(name: "metric_with_custom_timestamp", value: 1, timestamp: 1_441_205_977_284),
                MetricSample(name: "normal_metric", value: 2),
            ])
    }

    @Test("a real vLLM /metrics page: V0 and V1 names, histograms, +Inf buckets")
    func vllmCapture() throws {
        let parsed = try PrometheusText.parse(try Self.fixture("datadog-vllm_metrics.txt"))
        #expect(parsed.samples.count > 150)
        let model = ["model_name": "facebook/opt-125m"]
        #expect(
            parsed.samples(named: "vllm:generation_tokens_total") == [
                MetricSample(name: "vllm:generation_tokens_total", labels: model, value: 7)
            ])
        #expect(parsed.sum("vllm:num_requests_running") == 0)
        #expect(
            parsed.sum(anyOf: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"])?.name
                == "vllm:kv_cache_usage_perc")
        #expect(parsed.types["vllm:num_requests_running"] == "gauge")
        #expect(parsed.help["vllm:num_requests_running"]?.isEmpty == false)
        let infinite = parsed.samples.filter { $0.labels["le"] == "+Inf" }
        #expect(!infinite.isEmpty)
        #expect(parsed.samples.contains { $0.name.hasSuffix("_bucket") })
    }

    @Test("escapes in label values and help, special values")
    func escapesAndSpecialValues() throws {
        let text = #"""
            # HELP odd A help with a \\ backslash and a\nnewline
            # TYPE odd gauge
            odd{path="C:\\dir\\\"x\"",note="two\nlines",}   +Inf
            odd{path="b"} -Inf
            odd NaN
               # indented comment
            plain 1e-3
            """#
        let parsed = try PrometheusText.parse(text)
        #expect(parsed.help["odd"] == "A help with a \\ backslash and a\nnewline")
        #expect(parsed.samples[0].labels == ["path": #"C:\dir\"x""#, "note": "two\nlines"])
        #expect(parsed.samples[0].value == .infinity)
        #expect(parsed.samples[1].value == -.infinity)
        #expect(parsed.samples[2].value.isNaN)
        #expect(parsed.samples[3].value == 0.001)
        #expect(parsed.sum("plain") == 0.001)
    }

    @Test(
        "malformed lines are errors with their line number",
        arguments: [
            ("ok 1\nbroken\n", 2, "broken has no value"),
            ("a{x=\"1} 2", 1, "needs a double-quoted value"),
            ("a{x=\"1\" y=\"2\"} 2", 1, "expected ',' or '}'"),
            ("a 1 2 3", 1, "unexpected text after the timestamp"),
            ("a one", 1, "'one' is not a number"),
            ("# TYPE a whatever", 1, "unknown metric type"),
            ("9a 1", 1, "'9a' is not a metric name"),
            ("<html><body>502 Bad Gateway</body></html>", 1, "is not a metric name"),
        ])
    func malformed(text: String, line: Int, reason: String) {
        let error = #expect(throws: PrometheusParseError.self) { try PrometheusText.parse(text) }
        #expect(error?.line == line)
        #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "")")
    }
}
