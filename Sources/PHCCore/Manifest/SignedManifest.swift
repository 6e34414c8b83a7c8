#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A manifest whose DSSE envelope verified, with the key that signed it.
public struct SignedManifest: Sendable {
    public var manifest: Manifest
    public var signer: PublicKey

    /// Parses an envelope, checks its payload type and signature against `trustedKeys`, and decodes the manifest.
    ///
    /// Extra signatures by unknown keys are not an error; one good signature by a trusted key is enough.
    ///
    /// - Throws: ``SignatureError`` (not an envelope, wrong payload type, unknown key, bad signature)
    ///   or ``ManifestError`` (the signed payload is not a `phc.manifest/v1`).
    public init(envelope data: Data, trustedKeys: [PublicKey]) throws {
        let envelope = try DSSEEnvelope.decode(data)
        guard envelope.payloadType == Manifest.payloadType else {
            throw SignatureError.wrongPayloadType(envelope.payloadType)
        }
        let (payload, key) = try envelope.verify(trustedKeys: trustedKeys)
        manifest = try Manifest.decode(payload)
        signer = key
    }
}
