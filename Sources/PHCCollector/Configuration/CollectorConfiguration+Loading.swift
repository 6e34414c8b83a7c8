public import PHCConfig
internal import PHCCore

extension CollectorConfiguration {
    /// Reads and validates the collector configuration at `path`.
    ///
    /// - Throws: ``ConfigError`` listing every problem with file, line and a hint.
    public static func load(path: String) throws(ConfigError) -> CollectorConfiguration {
        try read(try ConfigDocument(path: path))
    }

    /// Parses configuration text (tests).
    public static func parse(_ text: String, file: String) throws(ConfigError) -> CollectorConfiguration {
        try read(try ConfigDocument(text: text, file: file))
    }

    static let topLevelKeys = [
        "devices_dir", "publish_dir", "database", "trust_file", "clock_skew", "failure_threshold", "silent_after",
        "max_manifest_size", "devices", "receivers", "routes",
    ]

    private static func read(_ document: ConfigDocument) throws(ConfigError) -> CollectorConfiguration {
        let base = PathResolver(configFile: document.file)
        var configuration = CollectorConfiguration(
            file: document.file, devicesDir: "/space/devices", publishDir: "/space/devices/_fleet",
            database: "/var/lib/phc-collector/collector.sqlite", trustFile: "/var/lib/phc-collector/trust.json",
            clockSkew: .seconds(300), failureThreshold: 2, silentAfter: nil, maxManifestBytes: 1024 * 1024,
            devices: [:],
            receivers: [], routes: [])
        guard let root = document.root.mapping(allowedKeys: topLevelKeys) else {
            try document.throwIfIssues()
            return configuration
        }
        if let value = root["devices_dir"].flatMap(base.path) { configuration.devicesDir = value }
        configuration.publishDir = configuration.devicesDir + "/_fleet"
        if let value = root["publish_dir"].flatMap(base.path) { configuration.publishDir = value }
        if let value = root["database"].flatMap(base.path) { configuration.database = value }
        configuration.trustFile = AtomicFile.split(configuration.database).directory + "/trust.json"
        if let value = root["trust_file"].flatMap(base.path) { configuration.trustFile = value }
        if let value = root["clock_skew"]?.duration(minimum: .seconds(1)) { configuration.clockSkew = value }
        if let value = root["failure_threshold"]?.int(in: 1...100) { configuration.failureThreshold = Int(value) }
        configuration.silentAfter = root["silent_after"]?.duration(minimum: .seconds(1))
        if let node = root["max_manifest_size"], let amount = node.amount() {
            if case .bytes(let bytes) = amount, bytes >= 1024 {
                configuration.maxManifestBytes = Int(bytes)
            } else {
                node.report("give a size of at least 1KiB, such as 1MiB")
            }
        }
        if let devices = root["devices"]?.anyMapping() {
            for (name, node) in devices {
                let key = name.lowercased()
                guard DeviceName.isValid(key) else {
                    node.report("'\(name)' is not a device name (\(DeviceName.rule))")
                    continue
                }
                guard configuration.devices[key] == nil else {
                    node.report("device \(name) is listed twice (names compare case-insensitively)")
                    continue
                }
                if let device = readDevice(key, node) { configuration.devices[key] = device }
            }
        }
        configuration.receivers = root["receivers"].flatMap { readReceivers($0, base: base) } ?? []
        configuration.routes =
            root["routes"].flatMap { readRoutes($0, receivers: Set(configuration.receivers.map(\.name))) } ?? []
        try document.throwIfIssues()
        return configuration
    }

    private static func readDevice(_ name: String, _ node: ConfigNode) -> DeviceConfiguration? {
        var device = DeviceConfiguration(name: name)
        if node.isNull { return device }
        guard let mapping = node.mapping(allowedKeys: ["always_on", "keys", "silent_after", "legacy"]) else {
            return nil
        }
        if let value = mapping["always_on"]?.bool() { device.alwaysOn = value }
        if let value = mapping["legacy"]?.bool() { device.legacy = value }
        device.silentAfter = mapping["silent_after"]?.duration(minimum: .seconds(1))
        for item in mapping["keys"]?.sequence() ?? [] {
            guard let text = item.nonEmptyString() else { continue }
            do {
                device.keys.append(try PublicKey.parse(line: text))
            } catch {
                item.report(error.description)
            }
        }
        return device
    }

    private static func readReceivers(_ node: ConfigNode, base: PathResolver) -> [ReceiverConfiguration]? {
        var seen: Set<String> = []
        return node.sequence()?.compactMap { item in
            guard let mapping = item.mapping(allowedKeys: ["name", "type", "url_file", "hmac_secret_file"]),
                let name = mapping.required("name")?.nonEmptyString(),
                let typeNode = mapping.required("type", hint: "discord, slack, webhook or alertmanager"),
                let typeText = typeNode.string(),
                let urlFile = mapping.required("url_file", hint: "a file holding the webhook URL (a secret)")
                    .flatMap(base.path)
            else { return nil }
            guard let kind = ReceiverConfiguration.Kind(rawValue: typeText) else {
                typeNode.report("'\(typeText)' is not one of discord, slack, webhook, alertmanager")
                return nil
            }
            if !seen.insert(name).inserted { mapping["name"]?.report("receiver \(name) is listed twice") }
            return ReceiverConfiguration(
                name: name, kind: kind, urlFile: urlFile, hmacSecretFile: mapping["hmac_secret_file"].flatMap(base.path)
            )
        }
    }

    private static func readRoutes(_ node: ConfigNode, receivers: Set<String>) -> [RouteConfiguration]? {
        node.sequence()?.compactMap { item in
            guard let mapping = item.mapping(allowedKeys: ["receiver", "match", "repeat"]),
                let receiverNode = mapping.required("receiver"), let receiver = receiverNode.nonEmptyString()
            else { return nil }
            if !receivers.contains(receiver) {
                receiverNode.report(
                    "no receiver named '\(receiver)' (receivers: \(receivers.sorted().joined(separator: ", ")))")
            }
            var match: [String: [String]] = [:]
            if let fields = mapping["match"]?.mapping(allowedKeys: ["severity", "device", "alertname", "kind"]) {
                for key in ["severity", "device", "alertname", "kind"] {
                    if let values = fields[key]?.stringList() { match[key] = values }
                }
            }
            let repeatInterval = mapping["repeat"]?.duration(minimum: .seconds(60)) ?? .seconds(4 * 3600)
            return RouteConfiguration(receiver: receiver, match: match, repeatInterval: repeatInterval)
        }
    }

}
