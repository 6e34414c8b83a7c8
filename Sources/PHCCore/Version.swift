internal import CCurl

/// Version facts of this build.
public enum PHCVersion {
    /// The PHC Health version written into every manifest.
    public static let current = "0.1.0"

    /// The system libcurl's version, such as "7.88.1", or why it cannot be loaded.
    public static var libcurl: String {
        guard let version = ccurl_version() else { return "unavailable: \(String(cString: ccurl_load_error()))" }
        return String(cString: version)
    }

    /// One line: `phc 0.1.0 (zlib 1.2.13)`. It does not load libcurl, to keep `--version` (and
    /// every command, which builds this text for its help) as quick as the rest.
    public static var summary: String {
        "phc \(current) (zlib \(Gzip.zlibVersion))"
    }
}
