import Foundation
import PHCAgent
import PHCConfig
import PHCTestSupport
import Testing

@Suite("Agent configuration")
struct ConfigurationTests {
    static let full = """
        device: armitage
        devices_dir: /space/devices
        state_dir: /var/lib/phc-agent
        key_file: /etc/phc/agent.key
        interval: 60s
        deadline: 20s
        legacy_status: {user: mdt}
        checks:
          mounts:
            - path: /mnt/space
              fstype: cifs
              source: //motoko/space
              timeout: 5s
              read_only: false
              write_probe: true
              min_free: {warn: 10%, crit: 50GiB}
            - path: "/mnt/my share/"
          secrets:
            map: secrets-map.yml
            max_age: {warn: 60d, crit: 90d}
            files:
              - path: /opt/litellm/.env
                owner: root
                group: root
                mode: "0600"
                keys: [LITELLM_MASTER_KEY]
          systemd:
            units: [litellm.service, {name: vllm, process: vllm}]
            timers: [{name: space-mirror.timer, max_since_last: 26h}, restic]
          markers:
            - path: /space/_ops/markers/b2_mirror.json
              max_age: {warn: 26h, crit: 48h}
              nonzero: [bytes]
        """

    @Test("every key of the SPEC is read, with relative paths resolved against the config folder")
    func fullConfiguration() throws {
        let configuration = try AgentConfiguration.parse(Self.full, file: "/etc/phc/agent.yaml")
        #expect(configuration.device == "armitage")
        #expect(configuration.deadline == .seconds(20))
        #expect(configuration.legacyStatusUser == "mdt")
        #expect(configuration.mounts.count == 2)
        let space = configuration.mounts[0]
        #expect(space.path == "/mnt/space" && space.fstype == "cifs" && space.source == "//motoko/space")
        #expect(space.writeProbe && !space.readOnly && space.timeout == .seconds(5))
        #expect(space.minFree == Thresholds(warn: .percent(10), crit: .bytes(50 * 1_073_741_824)))
        #expect(configuration.mounts[1].path == "/mnt/my share")
        #expect(configuration.secrets.map == "/etc/phc/secrets-map.yml")
        #expect(configuration.secrets.files[0].mode == 0o600)
        #expect(
            configuration.secrets.files[0].maxAge == Thresholds(warn: .seconds(60 * 86400), crit: .seconds(90 * 86400)))
        #expect(
            configuration.systemd.units == [
                UnitExpectation(name: "litellm.service"), UnitExpectation(name: "vllm.service", process: "vllm"),
            ])
        #expect(
            configuration.systemd.timers == [
                TimerExpectation(name: "space-mirror.timer", maxSinceLast: .seconds(26 * 3600)),
                TimerExpectation(name: "restic.timer"),
            ])
        #expect(configuration.markers[0].nonzero == ["bytes"])
    }

    @Test("GPU, inference, HTTP, containers, Tailscale and kernel keys")
    func probeKeys() throws {
        let text = """
            checks:
              gpu:
                nvidia_smi: /usr/bin/nvidia-smi
                temperature_c: {warn: 75, crit: 88}
                memory_used: {warn: 90%, crit: 11GiB}
                details_every: 5
              inference:
                - name: armitage-vllm
                  url: http://127.0.0.1:8000
                  model: qwen2.5-7b-armitage
                  optional: true
                  max_model_len: 32768
                  token_file: /opt/vllm/.env
                  token_key: VLLM_API_KEY
                - {name: ollama, url: "http://127.0.0.1:11434", kind: ollama, model: llama3}
              http:
                - name: nextcloud
                  url: http://127.0.0.1:8080/status.php
                  expect_json: {installed: true, maintenance: false, version: "29", count: 3}
              containers: {expect: [litellm]}
              tailscale: {key_expiry: {warn: 14d, crit: 2d}}
              kernel:
            """
        let configuration = try AgentConfiguration.parse(text, file: "/etc/phc/agent.yaml")
        let gpu = try #require(configuration.gpu)
        #expect(gpu.nvidiaSMI == "/usr/bin/nvidia-smi" && gpu.detailsEvery == 5)
        #expect(gpu.temperatureC == Thresholds(warn: 75, crit: 88))
        #expect(gpu.memoryUsed == Thresholds(warn: .percent(90), crit: .bytes(11 * 1_073_741_824)))
        #expect(configuration.inference.count == 2)
        #expect(configuration.inference[0].kind == .vllm && configuration.inference[0].optional)
        #expect(configuration.inference[0].token == TokenSource(file: "/opt/vllm/.env", key: "VLLM_API_KEY"))
        #expect(configuration.inference[1].kind == .ollama && configuration.inference[1].timeout == .seconds(5))
        #expect(
            configuration.http[0].expectJSON == [
                "installed": .bool(true), "maintenance": .bool(false), "version": .string("29"), "count": .number(3),
            ])
        #expect(configuration.containers?.expect == ["litellm"])
        #expect(configuration.tailscale?.keyExpiry == Thresholds(warn: .seconds(14 * 86400), crit: .seconds(2 * 86400)))
        #expect(configuration.kernel?.patterns == KernelLogCheckConfiguration.defaultPatterns)
    }

    @Test(
        "probe mistakes are refused",
        arguments: [
            ("checks:\n  inference:\n    - {name: a, url: ftp://x, model: m}\n", "is not an http:// or https:// URL"),
            (
                "checks:\n  inference:\n    - {name: a, url: http://x, model: m, kind: tgi}\n",
                "'tgi' is not one of vllm, openai, ollama"
            ),
            ("checks:\n  inference:\n    - {name: a, url: http://x}\n", "missing required key 'model'"),
            (
                "checks:\n  http:\n    - {name: a, url: http://x, token_file: /e}\n",
                "give both token_file and token_key"
            ),
            ("checks:\n  http:\n    - {name: a, url: http://x}\n    - {name: a, url: http://y}\n", "'a' is used twice"),
            (
                "deadline: 8s\ninterval: 60s\nchecks:\n  gpu: {timeout: 10s}\n",
                "10s does not fit in the 6s the deadline leaves for checks"
            ),
            ("checks:\n  kernel: {patterns: []}\n", "give at least one pattern"),
        ])
    func probeErrors(text: String, message: String) throws {
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.parse(text, file: "agent.yaml") }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
    }

    @Test("defaults: host name as device, /etc/phc paths, 60s interval, 20s deadline")
    func defaults() throws {
        let configuration = try AgentConfiguration.parse("", file: "/etc/phc/agent.yaml", hostName: "wintermute")
        #expect(configuration.device == "wintermute")
        #expect(configuration.devicesDir == "/space/devices")
        #expect(configuration.keyFile == "/etc/phc/agent.key")
        #expect(configuration.interval == .seconds(60) && configuration.deadline == .seconds(20))
    }

    @Test("unknown keys and bad values name the file, line and column, with a hint")
    func errorsNameTheLine() throws {
        let text = """
            device: armitage
            checks:
              mounts:
                - path: /mnt/space
                  timout: 5s
                - path: /mnt/time
                  timeout: 5 seconds
              markers:
                - path: /x.json
            intervall: 60s
            """
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.parse(text, file: "agent.yaml") }
        let lines = error?.description.split(separator: "\n").map(String.init) ?? []
        #expect(
            lines.contains("agent.yaml:5:7: checks.mounts[0].timout: unknown key 'timout' (did you mean 'timeout'?)"))
        #expect(
            lines.contains(
                "agent.yaml:7:16: checks.mounts[1].timeout: '5 seconds' is not a duration (write 500ms, 30s, 5m, 4h or 30d)"
            ))
        #expect(lines.contains { $0.hasPrefix("agent.yaml:9:") && $0.contains("missing required key 'max_age'") })
        #expect(lines.contains("agent.yaml:10:1: intervall: unknown key 'intervall' (did you mean 'interval'?)"))
        #expect(lines.count == 4)
    }

    @Test("a bad threshold is one issue, and an empty threshold mapping another")
    func thresholdIssues() throws {
        let bad = "checks:\n  mounts:\n    - path: /x\n      min_free: {warn: ten}\n"
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.parse(bad, file: "a.yaml") }
        #expect(error?.issues.count == 1)
        #expect(
            error?.description
                == "a.yaml:4:24: checks.mounts[0].min_free.warn: 'ten' is not a size or a percentage (write 512MiB, 50GiB or 5%)"
        )
        let empty = "checks:\n  mounts:\n    - path: /x\n      min_free: {}\n"
        let emptyError = #expect(throws: ConfigError.self) { try AgentConfiguration.parse(empty, file: "a.yaml") }
        #expect(emptyError?.description.contains("give at least one of warn or crit") == true)
    }

    @Test("a YAML syntax error is one line with its position, not a dump of the file")
    func syntaxError() throws {
        let text = "device: x\nchecks:\n  mounts: [\n    - path: /a\n"
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.parse(text, file: "bad.yaml") }
        let description = error?.description ?? ""
        #expect(description.hasPrefix("bad.yaml:"))
        #expect(description.contains("YAML syntax error"))
        #expect(!description.contains("\n"))
    }

    @Test(
        "cross-field mistakes are refused",
        arguments: [
            ("device: Not_Valid!\n", "is not a usable device name"),
            ("interval: 10s\ndeadline: 20s\n", "runs would overlap"),
            (
                "deadline: 4s\nchecks:\n  mounts:\n    - path: /a\n      timeout: 5s\n",
                "does not fit in the 3s the deadline leaves for checks"
            ),
            (
                "checks:\n  mounts:\n    - path: /a\n      read_only: true\n      write_probe: true\n",
                "write probe cannot succeed"
            ),
            ("checks:\n  mounts:\n    - path: /a\n    - path: /a/\n", "listed twice"),
            ("checks:\n  secrets:\n    files:\n      - path: /x\n        mode: rw-------\n", "not an octal mode"),
            ("key_file: ~/agent.key\n", "'~' is not expanded"),
            ("checks:\n  systemd:\n    timers: [foo.service]\n", "not a .timer unit"),
            ("checks: [a, b]\n", "expected a mapping"),
        ])
    func crossFieldErrors(text: String, message: String) throws {
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.parse(text, file: "agent.yaml") }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
    }

    @Test("a missing or unreadable config file is one clear error")
    func missingFile() throws {
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.load(path: "/nonexistent/agent.yaml") }
        #expect(
            error?.description
                == "/nonexistent/agent.yaml: cannot read configuration: /nonexistent/agent.yaml does not exist")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let folder = try directory.folder("agent.yaml")
        let folderError = #expect(throws: ConfigError.self) { try AgentConfiguration.load(path: folder) }
        #expect(folderError?.description.contains("is a directory") == true)
    }

    @Test(
        "the shipped example configurations are valid",
        arguments: ["default", "generic", "motoko", "armitage", "wintermute"])
    func examples(name: String) throws {
        let configuration = try AgentConfiguration.load(
            path: "\(Repository.root)/agent-config/\(name).yaml", hostName: "somehost")
        #expect(configuration.device == (["default", "generic"].contains(name) ? "somehost" : name))
        if name != "default" {
            // What scripts/install puts in /etc/phc/agent.yaml: the paths the units make writable.
            #expect(configuration.keyFile == "/etc/phc/agent.key" && configuration.stateDir == "/var/lib/phc-agent")
            #expect(configuration.devicesDir == "/space/devices")
        }
    }
}
