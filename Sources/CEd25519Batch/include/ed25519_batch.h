#ifndef PHC_ED25519_BATCH_H
#define PHC_ED25519_BATCH_H
// Ed25519 batch verification (RFC 8032 §5.1.7, the cofactored equation), for
// a collector that checks thousands of signatures by different keys per pass.
//
// For n signatures (R_i, s_i) by keys A_i with k_i = SHA-512(R_i || A_i || M_i)
// mod L, and random 128-bit z_i, it checks
//
//     [8] ( [-sum z_i s_i] B + sum [z_i] R_i + sum [z_i k_i] A_i ) = 0
//
// with one multi-scalar multiplication (Straus, width-5 signed windows): the
// doublings are shared by the whole batch, and each signature costs about 80
// point additions and two point decodings instead of 256 doublings and 80
// additions of its own.
//
// It is a filter, not a verdict on any one signature: 1 means every signature
// satisfies the cofactored equation (up to a chance of 2^-128 per call); 0 means
// at least one does not, or an input is not in canonical form (s >= L, R or A
// not a canonical point encoding), and the caller verifies each signature alone.
// Signatures that only a key holder can make, with a small-order component in R
// or A, satisfy the cofactored equation but not the cofactorless one of
// single verifiers such as BoringSSL; nobody without the key can make one.
//
// Variable time: everything it handles is public (keys, signatures, messages).

#include <stddef.h>
#include <stdint.h>

/// What one signature brings to a batch, in a record of PHC_ED25519_RECORD bytes: the key A (32),
/// the signature R || s (64), SHA-512(R || A || M) of its message M (64, computed by the caller:
/// the message itself is not needed), and 16 bytes of fresh, unpredictable randomness (its weight).
#define PHC_ED25519_RECORD 176

/// 1 when all `count` signatures, `count` records one after the other, pass the cofactored batch
/// equation; 0 otherwise (also for count 0 and when memory cannot be had).
int phc_ed25519_verify_batch(size_t count, const uint8_t *records);

#endif
