/// Turns a configuration into the list of checks to run, in manifest order.
enum CheckCatalog {
    static func checks(for configuration: AgentConfiguration, mountTablePath: String) -> [any HostCheck] {
        let table = MountTableSnapshot(path: mountTablePath)
        var checks: [any HostCheck] = configuration.mounts.map { MountCheck($0, mountTable: table) }
        let secrets = configuration.secrets
        if let map = secrets.map {
            checks.append(
                SecretsMapCheck(mapPath: map, maxAge: secrets.maxAge, explicitPaths: Set(secrets.files.map(\.path))))
        }
        checks += secrets.files.map { SecretFileCheck($0) }
        if !configuration.systemd.isEmpty { checks.append(SystemdCheck(configuration.systemd)) }
        checks += configuration.markers.map { MarkerCheck($0) }
        if let gpu = configuration.gpu { checks.append(GPUCheck(gpu)) }
        checks += configuration.inference.map { InferenceCheck($0) }
        checks += configuration.http.map { HTTPCheck($0) }
        if let containers = configuration.containers { checks.append(ContainersCheck(containers)) }
        if let tailscale = configuration.tailscale { checks.append(TailscaleCheck(tailscale)) }
        if let kernel = configuration.kernel { checks.append(KernelLogCheck(kernel)) }
        checks += configuration.processes.map { ProcessCheck($0) }
        checks.append(SystemCheck(configuration.system))
        return checks
    }
}
