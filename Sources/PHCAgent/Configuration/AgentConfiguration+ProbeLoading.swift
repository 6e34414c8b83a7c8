internal import PHCConfig
internal import PHCCore

extension AgentConfiguration {
    /// A program name on PATH, or a path resolved against the configuration's folder.
    static func program(_ node: ConfigNode?, base: PathResolver) -> String? {
        guard let node, let value = node.nonEmptyString() else { return nil }
        return value.contains("/") ? base.resolve(value) : value
    }

    /// `gpu:` (an empty `gpu:` turns the check on with defaults).
    static func readGPU(_ node: ConfigNode?, base: PathResolver, budget: Duration) -> GPUCheckConfiguration {
        var gpu = GPUCheckConfiguration()
        gpu.timeout = min(gpu.timeout, budget)
        guard let node,
            let mapping = node.mapping(allowedKeys: [
                "nvidia_smi", "timeout", "temperature_c", "memory_used", "details_every",
            ])
        else { return gpu }
        if let value = program(mapping["nvidia_smi"], base: base) { gpu.nvidiaSMI = value }
        if let value = mapping["timeout"]?.timeout(within: budget, minimum: .milliseconds(100)) { gpu.timeout = value }
        if let value = mapping["temperature_c"]?.thresholds({ $0.double(in: 0...200) }) { gpu.temperatureC = value }
        if let value = mapping["memory_used"]?.thresholds({ $0.amount() }) { gpu.memoryUsed = value }
        if let value = mapping["details_every"]?.int(in: 1...10_000) { gpu.detailsEvery = Int(value) }
        return gpu
    }

    static func readToken(_ mapping: ConfigMapping, base: PathResolver) -> TokenSource? {
        let file = mapping["token_file"].flatMap(base.path)
        let key = mapping["token_key"]?.nonEmptyString()
        switch (file, key) {
        case (let file?, let key?): return TokenSource(file: file, key: key)
        case (nil, nil): return nil
        default:
            mapping.owner.report("give both token_file and token_key (the env file and the variable holding the token)")
            return nil
        }
    }

    static func url(_ node: ConfigNode?) -> String? {
        guard let node, let text = node.nonEmptyString() else { return nil }
        guard URLText.isHTTP(text) else {
            node.report("'\(URLText.redacted(text))' is not an http:// or https:// URL")
            return nil
        }
        return text
    }

    static func readInference(_ node: ConfigNode, base: PathResolver, budget: Duration)
        -> [InferenceCheckConfiguration]?
    {
        var seen: Set<String> = []
        return node.sequence()?.compactMap { item in
            guard
                let mapping = item.mapping(allowedKeys: [
                    "name", "url", "kind", "model", "optional", "timeout", "max_model_len", "token_file", "token_key",
                ]),
                let name = mapping.required("name")?.nonEmptyString(),
                let url = url(mapping.required("url", hint: "the server's base URL, such as http://127.0.0.1:8000")),
                let model = mapping.required("model", hint: "the served model name clients ask for")?.nonEmptyString()
            else { return nil }
            if !seen.insert(name).inserted { mapping["name"]?.report("'\(name)' is used twice") }
            var server = InferenceCheckConfiguration(name: name, url: url, model: model)
            server.timeout = min(server.timeout, budget)
            if let kindNode = mapping["kind"], let text = kindNode.string() {
                if let kind = InferenceCheckConfiguration.Kind(rawValue: text) {
                    server.kind = kind
                } else {
                    kindNode.report("'\(text)' is not one of vllm, openai, ollama")
                }
            }
            if let value = mapping["optional"]?.bool() { server.optional = value }
            if let value = mapping["timeout"]?.timeout(within: budget, minimum: .milliseconds(100)) {
                server.timeout = value
            }
            server.maxModelLength = mapping["max_model_len"]?.int(in: 1...100_000_000)
            server.token = readToken(mapping, base: base)
            return server
        }
    }

    static func readHTTP(_ node: ConfigNode, base: PathResolver, budget: Duration) -> [HTTPCheckConfiguration]? {
        var seen: Set<String> = []
        return node.sequence()?.compactMap { item in
            guard
                let mapping = item.mapping(allowedKeys: [
                    "name", "url", "expect_status", "expect_body", "expect_json", "timeout", "token_file", "token_key",
                    "follow_redirects",
                ]),
                let name = mapping.required("name")?.nonEmptyString(),
                let url = url(mapping.required("url"))
            else { return nil }
            if !seen.insert(name).inserted { mapping["name"]?.report("'\(name)' is used twice") }
            var check = HTTPCheckConfiguration(name: name, url: url)
            check.timeout = min(check.timeout, budget)
            if let value = mapping["expect_status"]?.int(in: 100...599) { check.expectStatus = Int(value) }
            check.expectBody = mapping["expect_body"]?.nonEmptyString()
            if let fields = mapping["expect_json"]?.anyMapping() {
                for (key, value) in fields {
                    guard let text = value.string() else { continue }
                    if value.isQuoted {
                        check.expectJSON[key] = .string(text)
                    } else if let flag = ["true": true, "false": false][text] {
                        check.expectJSON[key] = .bool(flag)
                    } else if let number = Double(text) {
                        check.expectJSON[key] = .number(number)
                    } else {
                        check.expectJSON[key] = .string(text)
                    }
                }
            }
            if let value = mapping["timeout"]?.timeout(within: budget, minimum: .milliseconds(100)) {
                check.timeout = value
            }
            if let value = mapping["follow_redirects"]?.bool() { check.followRedirects = value }
            check.token = readToken(mapping, base: base)
            return check
        }
    }

    static func readContainers(_ node: ConfigNode?, base: PathResolver, budget: Duration)
        -> ContainersCheckConfiguration
    {
        var containers = ContainersCheckConfiguration()
        containers.timeout = min(containers.timeout, budget)
        guard let node, let mapping = node.mapping(allowedKeys: ["podman", "timeout", "expect"]) else {
            return containers
        }
        if let value = program(mapping["podman"], base: base) { containers.podman = value }
        if let value = mapping["timeout"]?.timeout(within: budget, minimum: .milliseconds(100)) {
            containers.timeout = value
        }
        containers.expect = mapping["expect"]?.stringList() ?? []
        return containers
    }

    static func readTailscale(_ node: ConfigNode?, base: PathResolver, budget: Duration) -> TailscaleCheckConfiguration
    {
        var tailscale = TailscaleCheckConfiguration()
        tailscale.timeout = min(tailscale.timeout, budget)
        guard let node, let mapping = node.mapping(allowedKeys: ["tailscale", "timeout", "key_expiry"]) else {
            return tailscale
        }
        if let value = program(mapping["tailscale"], base: base) { tailscale.tailscale = value }
        if let value = mapping["timeout"]?.timeout(within: budget, minimum: .milliseconds(100)) {
            tailscale.timeout = value
        }
        if let value = mapping["key_expiry"]?.thresholds({ $0.duration() }) { tailscale.keyExpiry = value }
        return tailscale
    }

    static func readKernel(_ node: ConfigNode?, base: PathResolver) -> KernelLogCheckConfiguration {
        var kernel = KernelLogCheckConfiguration()
        guard let node, let mapping = node.mapping(allowedKeys: ["patterns", "source"]) else { return kernel }
        if let patterns = mapping["patterns"]?.stringList() {
            if patterns.isEmpty {
                mapping["patterns"]?.report("give at least one pattern")
            } else {
                kernel.patterns = patterns
            }
        }
        if let value = mapping["source"].flatMap(base.path) { kernel.source = value }
        return kernel
    }
}
