internal import PHCCore

/// Loads a configured bearer token, bounded in time (the env file may sit on a share).
enum BearerToken {
    /// The token, nil when none is configured, or why it could not be read.
    static func load(_ source: TokenSource?, timeout: Duration) async -> Result<String?, EnvFileValue.Failure> {
        guard let source else { return .success(nil) }
        let read = await BlockingWork.run(timeout: timeout) {
            Result { () throws(EnvFileValue.Failure) in try EnvFileValue.read(key: source.key, from: source.file) }
        }
        guard let read else {
            return .failure(EnvFileValue.Failure(description: "token_file \(source.file) did not answer in time"))
        }
        return read.map { Optional($0) }
    }
}
