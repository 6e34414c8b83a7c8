public import PHCConfig
public import PHCCore

extension AgentConfiguration {
    /// Reads and validates the agent configuration at `path`.
    ///
    /// - Parameter hostName: the default device name (the short host name, lower-cased).
    /// - Throws: ``ConfigError`` listing every problem with file, line and a hint.
    public static func load(path: String, hostName: String = HostName.short()) throws(ConfigError)
        -> AgentConfiguration
    {
        let document = try ConfigDocument(path: path)
        return try read(document, hostName: hostName)
    }

    /// Parses configuration text (tests, `--dry-run` of generated configs).
    public static func parse(_ text: String, file: String, hostName: String = "testhost") throws(ConfigError)
        -> AgentConfiguration
    {
        try read(try ConfigDocument(text: text, file: file), hostName: hostName)
    }

    static let topLevelKeys = [
        "device", "devices_dir", "state_dir", "key_file", "interval", "deadline", "legacy_status", "spool_limit",
        "checks",
    ]

    private static func read(_ document: ConfigDocument, hostName: String) throws(ConfigError) -> AgentConfiguration {
        let base = PathResolver(configFile: document.file)
        let root = document.root.mapping(allowedKeys: topLevelKeys)
        var configuration = AgentConfiguration(
            file: document.file,
            device: hostName,
            devicesDir: "/space/devices",
            stateDir: "/var/lib/phc-agent",
            keyFile: "/etc/phc/agent.key",
            interval: .seconds(60),
            deadline: .seconds(20),
            legacyStatusUser: nil,
            spoolLimit: 4320,
            mounts: [],
            secrets: SecretsConfiguration(),
            systemd: SystemdConfiguration(),
            markers: [],
            system: SystemCheckConfiguration()
        )
        guard let root else {
            try document.throwIfIssues()
            return configuration
        }
        if let node = root["device"], let device = node.nonEmptyString() {
            if DeviceName.isValid(device) {
                configuration.device = device
            } else {
                node.report("'\(device)' is not a usable device name (\(DeviceName.rule))")
            }
        } else if !DeviceName.isValid(hostName) {
            root.owner.report(
                "the host name '\(hostName)' is not a usable device name; set 'device' (\(DeviceName.rule))")
        }
        if let node = root["devices_dir"], let value = base.path(node) { configuration.devicesDir = value }
        if let node = root["state_dir"], let value = base.path(node) { configuration.stateDir = value }
        if let node = root["key_file"], let value = base.path(node) { configuration.keyFile = value }
        // The range every manifest keeps (ManifestLimits), so each one the agent signs verifies.
        if let node = root["interval"],
            let value = node.duration(
                minimum: .seconds(ManifestLimits.intervalSeconds.lowerBound),
                maximum: .seconds(ManifestLimits.intervalSeconds.upperBound))
        {
            configuration.interval = value
        }
        if let node = root["deadline"], let value = node.duration(minimum: .milliseconds(500), maximum: .seconds(3600))
        {
            configuration.deadline = value
        }
        if let node = root["legacy_status"], let mapping = node.mapping(allowedKeys: ["user"]) {
            if let user = mapping.required("user", hint: "the user folder to write _status.json into")?
                .nonEmptyString()
            {
                if DeviceName.isValid(user.lowercased()) {
                    configuration.legacyStatusUser = user
                } else {
                    mapping["user"]?.report("'\(user)' cannot be a folder name")
                }
            }
        }
        if let node = root["spool_limit"], let value = node.int(in: 1...1_000_000) {
            configuration.spoolLimit = Int(value)
        }
        // Timeouts must fit in what the deadline leaves for checks; defaults are shortened to fit.
        let budget = AgentRunner.checkBudget(deadline: configuration.deadline)
        if let node = root["checks"],
            let checks = node.mapping(allowedKeys: [
                "mounts", "secrets", "systemd", "markers", "system", "gpu", "inference", "http", "containers",
                "tailscale", "kernel", "processes",
            ])
        {
            configuration.mounts = checks["mounts"].flatMap { readMounts($0, base: base, budget: budget) } ?? []
            configuration.secrets = checks["secrets"].flatMap { readSecrets($0, base: base) } ?? SecretsConfiguration()
            configuration.systemd =
                checks["systemd"].flatMap { readSystemd($0, base: base, budget: budget) } ?? SystemdConfiguration()
            configuration.markers = checks["markers"].flatMap { readMarkers($0, base: base) } ?? []
            configuration.system = checks["system"].flatMap(readSystem) ?? SystemCheckConfiguration()
            if checks.contains("gpu") { configuration.gpu = readGPU(checks["gpu"], base: base, budget: budget) }
            configuration.inference =
                checks["inference"].flatMap { readInference($0, base: base, budget: budget) } ?? []
            configuration.http = checks["http"].flatMap { readHTTP($0, base: base, budget: budget) } ?? []
            if checks.contains("containers") {
                configuration.containers = readContainers(checks["containers"], base: base, budget: budget)
            }
            if let podman = configuration.containers?.podman { configuration.systemd.podman = podman }
            if checks.contains("tailscale") {
                configuration.tailscale = readTailscale(checks["tailscale"], base: base, budget: budget)
            }
            if checks.contains("kernel") { configuration.kernel = readKernel(checks["kernel"], base: base) }
            configuration.processes = checks["processes"].flatMap(readProcesses) ?? []
        }
        validateTimeouts(configuration, root: root)
        try document.throwIfIssues()
        return configuration
    }

    private static func readMounts(_ node: ConfigNode, base: PathResolver, budget: Duration)
        -> [MountCheckConfiguration]?
    {
        guard let items = node.sequence() else { return nil }
        var seen: Set<String> = []
        return items.compactMap { item in
            guard
                let mapping = item.mapping(allowedKeys: [
                    "path", "fstype", "source", "timeout", "read_only", "write_probe", "min_free",
                ])
            else { return nil }
            guard let pathNode = mapping.required("path", hint: "the mount point, such as /mnt/space"),
                let path = base.path(pathNode)
            else { return nil }
            if !seen.insert(path).inserted { pathNode.report("\(path) is listed twice") }
            var mount = MountCheckConfiguration(path: path)
            mount.timeout = min(mount.timeout, budget)
            mount.fstype = mapping["fstype"]?.nonEmptyString()
            mount.source = mapping["source"]?.nonEmptyString()
            if let value = mapping["timeout"]?.timeout(within: budget) { mount.timeout = value }
            if let value = mapping["read_only"]?.bool() { mount.readOnly = value }
            if let value = mapping["write_probe"]?.bool() { mount.writeProbe = value }
            mount.minFree = mapping["min_free"]?.thresholds { $0.amount() }
            if mount.readOnly && mount.writeProbe {
                mapping["write_probe"]?.report("a write probe cannot succeed on a read_only mount; remove one")
            }
            return mount
        }
    }

    private static func readSecrets(_ node: ConfigNode, base: PathResolver) -> SecretsConfiguration? {
        guard let mapping = node.mapping(allowedKeys: ["map", "max_age", "files"]) else { return nil }
        var secrets = SecretsConfiguration()
        secrets.map = mapping["map"].flatMap(base.path)
        secrets.maxAge = mapping["max_age"]?.thresholds { $0.duration() }
        var seen: Set<String> = []
        secrets.files =
            mapping["files"]?.sequence()?.compactMap { item -> SecretFileConfiguration? in
                guard
                    let file = item.mapping(allowedKeys: ["path", "owner", "group", "mode", "keys", "max_age"]),
                    let pathNode = file.required("path", hint: "the env file, such as /opt/litellm/.env"),
                    let path = base.path(pathNode)
                else { return nil }
                if !seen.insert(path).inserted { pathNode.report("\(path) is listed twice") }
                var secret = SecretFileConfiguration(path: path)
                secret.owner = file["owner"]?.nonEmptyString()
                secret.group = file["group"]?.nonEmptyString()
                if let modeNode = file["mode"], let text = modeNode.string() {
                    if let mode = FileMode.parse(text) {
                        secret.mode = mode
                    } else {
                        modeNode.report("'\(text)' is not an octal mode (write \"0600\" in quotes)")
                    }
                }
                secret.keys = file["keys"]?.stringList() ?? []
                secret.maxAge = file["max_age"]?.thresholds { $0.duration() } ?? secrets.maxAge
                return secret
            } ?? []
        return secrets
    }

    private static func readSystemd(_ node: ConfigNode, base: PathResolver, budget: Duration) -> SystemdConfiguration? {
        guard let mapping = node.mapping(allowedKeys: ["units", "timers", "systemctl", "timeout"]) else { return nil }
        var systemd = SystemdConfiguration()
        systemd.timeout = min(systemd.timeout, budget)
        systemd.units =
            mapping["units"]?.sequence()?.compactMap { item -> UnitExpectation? in
                if !item.isMapping {
                    return item.nonEmptyString().flatMap { unitName($0, node: item) }.map { UnitExpectation(name: $0) }
                }
                guard let unit = item.mapping(allowedKeys: ["name", "process", "container"]),
                    let nameNode = unit.required("name"), let raw = nameNode.nonEmptyString(),
                    let name = unitName(raw, node: nameNode)
                else { return nil }
                if unit.contains("process") && unit.contains("container") {
                    unit.owner.report("give process or container, not both")
                }
                return UnitExpectation(
                    name: name, process: unit["process"]?.nonEmptyString(),
                    container: unit["container"]?.nonEmptyString())
            } ?? []
        systemd.timers =
            mapping["timers"]?.sequence()?.compactMap { item -> TimerExpectation? in
                if !item.isMapping {
                    return item.nonEmptyString().flatMap { timerName($0, node: item) }.map {
                        TimerExpectation(name: $0)
                    }
                }
                guard let timer = item.mapping(allowedKeys: ["name", "max_since_last"]),
                    let nameNode = timer.required("name"), let raw = nameNode.nonEmptyString(),
                    let name = timerName(raw, node: nameNode)
                else { return nil }
                return TimerExpectation(
                    name: name, maxSinceLast: timer["max_since_last"]?.duration(minimum: .seconds(1)))
            } ?? []
        if let node = mapping["systemctl"], let value = node.nonEmptyString() {
            systemd.systemctl = value.contains("/") ? base.resolve(value) : value
        }
        if let value = mapping["timeout"]?.timeout(within: budget) { systemd.timeout = value }
        return systemd
    }

    private static func unitName(_ raw: String, node: ConfigNode) -> String? {
        guard UnitName.isValid(raw) else {
            node.report("'\(raw)' is not a systemd unit name (such as litellm.service)")
            return nil
        }
        return raw.contains(".") ? raw : raw + ".service"
    }

    private static func timerName(_ raw: String, node: ConfigNode) -> String? {
        guard UnitName.isValid(raw) else {
            node.report("'\(raw)' is not a systemd timer name (such as space-mirror.timer)")
            return nil
        }
        if raw.hasSuffix(".timer") { return raw }
        if raw.contains(".") {
            node.report("'\(raw)' is not a .timer unit; list services under units")
            return nil
        }
        return raw + ".timer"
    }

    private static func readProcesses(_ node: ConfigNode) -> [ProcessCheckConfiguration]? {
        var seen: Set<String> = []
        return node.sequence()?.compactMap { item in
            guard
                let mapping = item.mapping(allowedKeys: ["name", "match", "min", "max", "cpu_percent", "for", "memory"]
                ),
                let nameNode = mapping.required("name", hint: "the process name (comm), such as tailscaled"),
                let name = nameNode.nonEmptyString()
            else { return nil }
            if !seen.insert(name).inserted { nameNode.report("process \(name) is listed twice") }
            var process = ProcessCheckConfiguration(name: name)
            if let matchNode = mapping["match"], let pattern = matchNode.nonEmptyString() {
                if (try? Regex(pattern)) == nil {
                    matchNode.report("not a regular expression")
                } else {
                    process.match = pattern
                }
            } else if name.utf8.count > 15 {
                nameNode.report("a process name (comm) has at most 15 characters; use match: for longer names")
            }
            if let value = mapping["min"]?.int(in: 0...100_000) { process.min = Int(value) }
            if let value = mapping["max"]?.int(in: 0...100_000) { process.max = Int(value) }
            if let max = process.max, max < process.min {
                mapping["max"]?.report("max \(max) is below min \(process.min)")
            }
            process.cpuPercent = mapping["cpu_percent"]?.thresholds { $0.double(in: 0...100_000) }
            if let value = mapping["for"]?.int(in: 1...1000) { process.cpuFor = Int(value) }
            process.memory = mapping["memory"]?.thresholds { $0.amount() }
            return process
        }
    }

    private static func readMarkers(_ node: ConfigNode, base: PathResolver) -> [MarkerCheckConfiguration]? {
        node.sequence()?.compactMap { item in
            guard let marker = item.mapping(allowedKeys: ["path", "max_age", "nonzero"]),
                let pathNode = marker.required("path", hint: "the marker JSON file"),
                let path = base.path(pathNode)
            else { return nil }
            guard let maxAgeNode = marker.required("max_age", hint: "such as {warn: 26h, crit: 48h}"),
                let maxAge = maxAgeNode.thresholds({ $0.duration() })
            else { return nil }
            return MarkerCheckConfiguration(path: path, maxAge: maxAge, nonzero: marker["nonzero"]?.stringList() ?? [])
        }
    }

    private static func readSystem(_ node: ConfigNode) -> SystemCheckConfiguration? {
        guard let mapping = node.mapping(allowedKeys: ["load_per_cpu", "memory_available", "root_free"]) else {
            return nil
        }
        var system = SystemCheckConfiguration()
        if let value = mapping["load_per_cpu"]?.thresholds({ $0.double(in: 0...10_000) }) { system.loadPerCPU = value }
        if let value = mapping["memory_available"]?.thresholds({ $0.amount() }) { system.memoryAvailable = value }
        if let value = mapping["root_free"]?.thresholds({ $0.amount() }) { system.rootFree = value }
        return system
    }

    private static func validateTimeouts(_ configuration: AgentConfiguration, root: ConfigMapping) {
        let deadline = configuration.deadline
        if let node = root["interval"], configuration.interval < deadline {
            node.report(
                "interval \(DurationText.format(configuration.interval)) is shorter than deadline "
                    + "\(DurationText.format(deadline)); runs would overlap")
        }
    }
}

enum UnitName {
    static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255
            && name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ":-_.@\\".unicodeScalars.contains($0))
            }
    }
}
