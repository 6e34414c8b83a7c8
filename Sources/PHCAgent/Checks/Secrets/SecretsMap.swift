internal import PHCConfig
internal import PHCCore

/// The entries of an Ansible `secrets-map.yml` that apply to one device.
///
/// The map says, per service, which env file Ansible writes on which hosts,
/// with owner, group, mode and the variable names. Values written as Jinja
/// templates (`{{ … }}`) cannot be resolved here: such expectations are skipped
/// and listed, never guessed. Entries chosen by inventory `groups` rather than
/// `hosts` are skipped too, since the inventory is not available to the agent.
struct SecretsMap {
    /// Files expected on this device.
    var files: [SecretFileConfiguration] = []
    /// Services not checked, with the reason (`grafana: env_file is a template`).
    var skipped: [String] = []
    /// Services in the map in all.
    var serviceCount = 0

    /// Reads the map at `path` for `device`.
    ///
    /// - Throws: ``ConfigError`` when the file cannot be read or is not a map of services.
    init(path: String, device: String, maxAge: Thresholds<Duration>?) throws(ConfigError) {
        let document = try ConfigDocument(path: path)
        guard let root = document.root.anyMapping(),
            let services = root.first(where: { $0.key == "services" })?.value.anyMapping()
        else {
            document.report("expected a 'services' mapping", at: nil)
            throw ConfigError(issues: document.issues)
        }
        serviceCount = services.count
        for (name, node) in services {
            guard let entry = node.anyMapping() else { continue }
            func value(_ key: String) -> String? {
                entry.first(where: { $0.key == key }).flatMap { $0.value.isNull ? nil : $0.value.string() }
            }
            func list(_ key: String) -> [String] {
                entry.first(where: { $0.key == key }).flatMap { $0.value.stringList() } ?? []
            }
            let hosts = list("hosts").map { $0.lowercased() }
            guard hosts.contains(device.lowercased()) else {
                if hosts.isEmpty && !list("groups").isEmpty {
                    skipped.append("\(name): chosen by inventory groups (\(list("groups").joined(separator: ", ")))")
                }
                continue
            }
            guard let envFile = value("env_file") else {
                skipped.append("\(name): no env_file")
                continue
            }
            if Self.isTemplate(envFile) {
                skipped.append("\(name): env_file is a template")
                continue
            }
            var file = SecretFileConfiguration(
                path: envFile, maxAge: maxAge, origin: "secrets-map service \(name)")
            for key in ["owner", "group", "mode"] {
                guard let text = value(key) else { continue }
                if Self.isTemplate(text) {
                    file.skipped.append("\(key) (template)")
                    continue
                }
                switch key {
                case "owner": file.owner = text
                case "group": file.group = text
                default:
                    if let mode = FileMode.parse(text) {
                        file.mode = mode
                    } else {
                        file.skipped.append("mode (unreadable)")
                    }
                }
            }
            if let secrets = entry.first(where: { $0.key == "secrets" })?.value.anyMapping() {
                file.keys = secrets.map(\.key).filter { !Self.isTemplate($0) }
            }
            files.append(file)
        }
    }

    static func isTemplate(_ text: String) -> Bool {
        text.contains("{{") || text.contains("{%")
    }
}
