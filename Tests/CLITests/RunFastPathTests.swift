import Testing

@testable import phc_agent

@Suite("phc-agent run without the argument parser")
struct RunFastPathTests {
    @Test(
        "the plain forms of run are recognised",
        arguments: [
            (["run"], "/etc/phc/agent.yaml", false, false),
            (["run", "--config", "a.yaml"], "a.yaml", false, false),
            (["run", "-c", "a.yaml", "--dry-run"], "a.yaml", true, false),
            (["run", "--config=/x/a.yaml", "-v"], "/x/a.yaml", false, true),
            (["run", "--verbose", "--dry-run", "-c", "b"], "b", true, true),
        ])
    func recognised(arguments: [String], config: String, dryRun: Bool, verbose: Bool) throws {
        let parsed = try #require(RunFastPath(arguments))
        #expect(parsed.config == config && parsed.dryRun == dryRun && parsed.verbose == verbose)
    }

    @Test(
        "anything else goes to the argument parser",
        arguments: [
            ["check"], [], ["run", "--help"], ["run", "-h"], ["run", "-c"], ["run", "--config", "-v"],
            ["run", "-c", "a", "-c", "b"], ["run", "--dry-run", "--dry-run"], ["run", "extra"], ["run", "--config="],
            ["run", "-vc", "a"],
        ])
    func fallsBack(arguments: [String]) {
        #expect(RunFastPath(arguments) == nil)
    }
}
