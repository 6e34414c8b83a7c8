internal import CCurl

/// Version facts of this build.
public enum PHCVersion {
    /// The PHC Health version written into every manifest.
    public static let current = "0.1.0"

    /// The system libcurl's version, such as "7.88.1".
    public static var libcurl: String { String(cString: ccurl_version_string()) }

    /// One line: `phc 0.1.0 (libcurl 7.88.1, zlib 1.2.13)`.
    public static var summary: String {
        "phc \(current) (libcurl \(libcurl), zlib \(Gzip.zlibVersion))"
    }
}
