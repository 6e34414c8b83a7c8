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
        "max_manifest_size", "devices", "receivers", "routes", "recovery_threshold", "interval", "heartbeat",
        "give_up_after", "retention", "archive", "publish",
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
        if let value = root["recovery_threshold"]?.int(in: 1...100) { configuration.recoveryThreshold = Int(value) }
        if let value = root["interval"]?.duration(minimum: .seconds(1), maximum: .seconds(86400)) {
            configuration.interval = value
        }
        if let value = root["give_up_after"]?.duration(minimum: .seconds(60), maximum: .seconds(30 * 86400)) {
            configuration.giveUpAfter = value
        }
        if let mapping = root["retention"]?.mapping(allowedKeys: ["raw", "hourly", "daily"]) {
            let limits = (minimum: Duration.seconds(3600), maximum: Duration.seconds(20 * 365 * 86_400))
            if let value = mapping["raw"]?.duration(minimum: limits.minimum, maximum: limits.maximum) {
                configuration.retention.raw = value
            }
            if let value = mapping["hourly"]?.duration(minimum: limits.minimum, maximum: limits.maximum) {
                configuration.retention.hourly = value
            }
            if let value = mapping["daily"]?.duration(minimum: limits.minimum, maximum: limits.maximum) {
                configuration.retention.daily = value
            }
            if configuration.retention.hourly < configuration.retention.raw {
                mapping.owner.report("hourly is kept less long than raw; keep it at least as long")
            }
        }
        if let value = root["archive"]?.bool() { configuration.archive = value }
        if let value = root["publish"]?.bool() { configuration.publish = value }
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
        let names = Set(configuration.receivers.map(\.name))
        configuration.routes = root["routes"].flatMap { readRoutes($0, receivers: names) } ?? []
        if let node = root["heartbeat"], let mapping = node.mapping(allowedKeys: ["receiver"]),
            let receiverNode = mapping.required("receiver", hint: "the receiver that gets the Watchdog alert"),
            let receiver = receiverNode.nonEmptyString()
        {
            if names.contains(receiver) {
                configuration.heartbeatReceiver = receiver
            } else {
                receiverNode.report(unknownReceiver(receiver, names))
            }
        }
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

    private static func unknownReceiver(_ name: String, _ names: Set<String>) -> String {
        "no receiver named '\(name)' (receivers: \(names.sorted().joined(separator: ", ")))"
    }

    private static func readReceivers(_ node: ConfigNode, base: PathResolver) -> [ReceiverConfiguration]? {
        var seen: Set<String> = []
        return node.sequence()?.compactMap { item in
            guard
                let mapping = item.mapping(allowedKeys: [
                    "name", "type", "url", "url_file", "hmac_secret_file", "timeout",
                ]),
                let name = mapping.required("name")?.nonEmptyString(),
                let typeNode = mapping.required("type", hint: "discord, slack, webhook or alertmanager"),
                let typeText = typeNode.string()
            else { return nil }
            guard let kind = ReceiverConfiguration.Kind(rawValue: typeText) else {
                typeNode.report("'\(typeText)' is not one of discord, slack, webhook, alertmanager")
                return nil
            }
            if !seen.insert(name).inserted { mapping["name"]?.report("receiver \(name) is listed twice") }
            let source: ReceiverConfiguration.URLSource
            switch (mapping["url"], mapping["url_file"].flatMap(base.path)) {
            case (let urlNode?, nil):
                guard kind == .alertmanager else {
                    // Never echoed: the value is the secret.
                    urlNode.report(
                        "a \(kind.rawValue) URL is a secret: put it in a file and name the file with url_file")
                    return nil
                }
                guard let url = urlNode.nonEmptyString(), URLText.isHTTP(url) else {
                    urlNode.report("not an http:// or https:// URL")
                    return nil
                }
                source = .inline(url)
            case (nil, let file?): source = .file(file)
            case (_?, _?):
                mapping.owner.report("give url or url_file, not both")
                return nil
            case (nil, nil):
                mapping.owner.report(
                    "missing required key 'url_file' (a file holding the webhook URL, a secret)"
                        + (kind == .alertmanager ? ", or url" : ""))
                return nil
            }
            var receiver = ReceiverConfiguration(name: name, kind: kind, url: source)
            if let hmac = mapping["hmac_secret_file"] {
                if kind == .webhook {
                    receiver.hmacSecretFile = base.path(hmac)
                } else {
                    hmac.report("hmac_secret_file is for webhook receivers")
                }
            }
            if let timeout = mapping["timeout"]?.duration(minimum: .milliseconds(100), maximum: .seconds(300)) {
                receiver.timeout = timeout
            }
            return receiver
        }
    }

    private static func readRoutes(_ node: ConfigNode, receivers: Set<String>) -> [RouteConfiguration]? {
        node.sequence()?.compactMap { item in
            guard
                let mapping = item.mapping(allowedKeys: [
                    "receiver", "match", "group_by", "group_wait", "group_interval", "repeat", "send_resolved",
                    "continue",
                ]),
                let receiverNode = mapping.required("receiver"), let receiver = receiverNode.nonEmptyString()
            else { return nil }
            if !receivers.contains(receiver) { receiverNode.report(unknownReceiver(receiver, receivers)) }
            var route = RouteConfiguration(receiver: receiver)
            if let match = mapping["match"]?.anyMapping() {
                for (label, valueNode) in match {
                    guard AlertLabels.isLabelName(label) else {
                        valueNode.report("'\(label)' is not a label name (letters, digits and _)")
                        continue
                    }
                    if let values = valueNode.stringList() { route.match[label] = values }
                }
            }
            if let groupBy = mapping["group_by"]?.stringList() {
                for label in groupBy where label != "..." && !AlertLabels.isLabelName(label) {
                    mapping["group_by"]?.report("'\(label)' is not a label name")
                }
                route.groupBy = groupBy
            }
            if let value = mapping["group_wait"]?.duration(maximum: .seconds(86400)) { route.groupWait = value }
            if let value = mapping["group_interval"]?.duration(maximum: .seconds(86400)) { route.groupInterval = value }
            if let value = mapping["repeat"]?.duration(minimum: .seconds(60), maximum: .seconds(30 * 86400)) {
                route.repeatInterval = value
            }
            if let value = mapping["send_resolved"]?.bool() { route.sendResolved = value }
            if let value = mapping["continue"]?.bool() { route.continue = value }
            return route
        }
    }
}
