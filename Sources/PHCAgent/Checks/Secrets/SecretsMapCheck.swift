public import PHCConfig
internal import PHCCore

/// `secrets:<map path>`: reads an Ansible secrets map and checks, as
/// `secrets:<env file>`, every env file it expects on this device.
///
/// The map's own result says how many entries applied and which were skipped
/// (templated values, inventory groups), so nothing is silently left out.
public struct SecretsMapCheck: HostCheck {
    public let mapPath: String
    public let maxAge: Thresholds<Duration>?
    /// Env files configured explicitly: their own configuration wins over the map's.
    public let explicitPaths: Set<String>
    public let timeout: Duration

    public init(
        mapPath: String, maxAge: Thresholds<Duration>?, explicitPaths: Set<String>, timeout: Duration = .seconds(3)
    ) {
        self.mapPath = mapPath
        self.maxAge = maxAge
        self.explicitPaths = explicitPaths
        self.timeout = timeout
    }

    public var id: String { "secrets:\(mapPath)" }
    public var resultIDs: [String] { [id] }
    public var kind: String { "secrets" }

    public func run(in context: CheckContext) async -> CheckReport {
        if let blocker = await context.mounts.blocker(for: mapPath) {
            return CheckReport(mapResult(.unknown, "not checked: \(blocker)"))
        }
        let device = context.device
        let loaded = await BlockingWork.run(timeout: timeout) { [mapPath, maxAge] in
            Result { () throws(ConfigError) in try SecretsMap(path: mapPath, device: device, maxAge: maxAge) }
        }
        guard let loaded else {
            return CheckReport(
                mapResult(.unknown, "no answer within \(DurationText.format(timeout)) reading the map"))
        }
        let map: SecretsMap
        switch loaded {
        case .success(let value): map = value
        case .failure(let error):
            return CheckReport(
                mapResult(
                    .unknown, "cannot use the secrets map: \(error.issues.first?.description ?? "")"))
        }
        var results: [CheckResult] = []
        for file in map.files where !explicitPaths.contains(file.path) {
            results.append(await SecretFileCheck.inspect(file, context: context, timeout: timeout))
        }
        var summary = "\(map.files.count) of \(map.serviceCount) services apply to \(device)"
        if !map.skipped.isEmpty { summary += "; skipped \(map.skipped.joined(separator: "; "))" }
        let overridden = map.files.filter { explicitPaths.contains($0.path) }.count
        if overridden > 0 { summary += "; \(overridden) checked from the agent config instead" }
        var own = mapResult(.ok, summary)
        own.observations = [
            "services": .int(Int64(map.serviceCount)), "files": .int(Int64(map.files.count)),
            "skipped": .int(Int64(map.skipped.count)),
        ]
        return CheckReport(results: [own] + results)
    }

    private func mapResult(_ status: CheckStatus, _ summary: String) -> CheckResult {
        CheckResult(id: id, kind: kind, status: status, summary: summary)
    }
}
