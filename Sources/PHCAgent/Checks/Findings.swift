internal import PHCCore

/// Problems found by a check, worst first in the summary.
struct Findings {
    private(set) var items: [(status: CheckStatus, text: String)] = []

    mutating func add(_ status: CheckStatus, _ text: String) {
        items.append((status, text))
    }

    var status: CheckStatus { CheckStatus.worst(items.map(\.status)) }

    /// `problem; problem; details` with the worst problems first, or just the details when all is well.
    func summary(details: String) -> String {
        let problems = items.sorted { $0.status > $1.status }.map(\.text)
        return (problems + (details.isEmpty ? [] : [details])).joined(separator: "; ")
    }
}
