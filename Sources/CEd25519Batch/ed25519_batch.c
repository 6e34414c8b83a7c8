// Ed25519 batch verification: see include/ed25519_batch.h for what it checks.
//
// Field elements mod p = 2^255 - 19 are five 51-bit limbs in 64-bit words,
// multiplied with 128-bit products. Points are extended twisted Edwards
// coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z, on -x^2 + y^2 = 1 + d x^2 y^2;
// the formulas are add-2008-hwcd-3 and dbl-2008-hwcd (Hisil, Wong, Carter,
// Dawson, "Twisted Edwards curves revisited", 2008). Scalars mod L are reduced
// with Barrett's method (Handbook of Applied Cryptography, 14.42).

#include "ed25519_batch.h"

#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

// ---------------------------------------------------------------------------
// The field

typedef struct {
    uint64_t v[5];
} fe;

#define MASK51 ((uint64_t)0x7ffffffffffff)

// Limbs of mul and sq results are below 2^52; fe_add and fe_sub results, the
// inputs of mul and sq, below 2^55, for which no 128-bit sum overflows.

// d = -121665 / 121666 mod p, 2d, and sqrt(-1) = 2^((p - 1) / 4) mod p (RFC 8032 §5.1), in limbs;
// computed with Python's integers when this was written. The base point B is decoded from its
// encoding (y = 4/5), which the Wycheproof tests would catch going wrong.
static const fe fe_d = {{0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL, 0x739c663a03cbbULL,
                         0x52036cee2b6ffULL}};
static const fe fe_d2 = {{0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL, 0x6738cc7407977ULL,
                          0x2406d9dc56dffULL}};
static const fe fe_sqrtm1 = {{0x61b274a0ea0b0ULL, 0xd5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL, 0x78595a6804c9eULL,
                              0x2b8324804fc1dULL}};

static inline void fe_zero(fe *h) { memset(h, 0, sizeof *h); }

static inline void fe_one(fe *h) {
    fe_zero(h);
    h->v[0] = 1;
}

static inline void fe_add(fe *h, const fe *f, const fe *g) {
    for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
}

/// f - g + 4p, for g's limbs below 2^53.
static inline void fe_sub(fe *h, const fe *f, const fe *g) {
    h->v[0] = f->v[0] + 0x1fffffffffffb4ULL - g->v[0];
    for (int i = 1; i < 5; i++) h->v[i] = f->v[i] + 0x1ffffffffffffcULL - g->v[i];
}

/// Carries the five 128-bit column sums into limbs below 2^51 (the second below 2^52).
static inline void fe_carry_wide(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
    r1 += r0 >> 51;
    r2 += r1 >> 51;
    r3 += r2 >> 51;
    r4 += r3 >> 51;
    u128 top = r4 >> 51;
    u128 low = ((uint64_t)r0 & MASK51) + top * 19;
    h->v[0] = (uint64_t)low & MASK51;
    h->v[1] = ((uint64_t)r1 & MASK51) + (uint64_t)(low >> 51);
    h->v[2] = (uint64_t)r2 & MASK51;
    h->v[3] = (uint64_t)r3 & MASK51;
    h->v[4] = (uint64_t)r4 & MASK51;
}

static inline void fe_mul(fe *h, const fe *f, const fe *g) {
    uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
    uint64_t g1_19 = g1 * 19, g2_19 = g2 * 19, g3_19 = g3 * 19, g4_19 = g4 * 19;
    u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
    u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
    u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
    u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
    u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
    fe_carry_wide(h, r0, r1, r2, r3, r4);
}

static inline void fe_sq(fe *h, const fe *f) {
    uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
    uint64_t f0_2 = f0 * 2, f1_2 = f1 * 2, f3_19 = f3 * 19, f4_19 = f4 * 19;
    u128 r0 = (u128)f0 * f0 + (u128)f1_2 * f4_19 + (u128)(f2 * 2) * f3_19;
    u128 r1 = (u128)f0_2 * f1 + (u128)(f2 * 2) * f4_19 + (u128)f3 * f3_19;
    u128 r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)(f3 * 2) * f4_19;
    u128 r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
    u128 r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
    fe_carry_wide(h, r0, r1, r2, r3, r4);
}

/// h = f^(2^n), n >= 1.
static void fe_sq_times(fe *h, const fe *f, int n) {
    fe_sq(h, f);
    for (int i = 1; i < n; i++) fe_sq(h, h);
}

static inline uint64_t load64_le(const uint8_t *s) {
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = (x << 8) | s[i];
    return x;
}

/// The low 255 bits of s (the top bit, a sign in point encodings, is left out).
static void fe_frombytes(fe *h, const uint8_t s[32]) {
    uint64_t w0 = load64_le(s), w1 = load64_le(s + 8), w2 = load64_le(s + 16), w3 = load64_le(s + 24);
    h->v[0] = w0 & MASK51;
    h->v[1] = ((w0 >> 51) | (w1 << 13)) & MASK51;
    h->v[2] = ((w1 >> 38) | (w2 << 26)) & MASK51;
    h->v[3] = ((w2 >> 25) | (w3 << 39)) & MASK51;
    h->v[4] = (w3 >> 12) & MASK51;
}

/// The canonical encoding of f (the value mod p, below p), top bit clear.
static void fe_tobytes(uint8_t s[32], const fe *f) {
    uint64_t t[5];
    memcpy(t, f->v, sizeof t);
    // Twice round the carry chain: limbs below 2^51, the value below 2^255 + small.
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4; i++) {
            t[i + 1] += t[i] >> 51;
            t[i] &= MASK51;
        }
        t[0] += 19 * (t[4] >> 51);
        t[4] &= MASK51;
    }
    // Now t < 2^255 + 19: subtract p once if t >= p, that is if t + 19 >= 2^255.
    uint64_t q = (t[0] + 19) >> 51;
    for (int i = 1; i < 5; i++) q = (t[i] + q) >> 51;
    t[0] += 19 * q;
    for (int i = 0; i < 4; i++) {
        t[i + 1] += t[i] >> 51;
        t[i] &= MASK51;
    }
    t[4] &= MASK51;
    uint64_t w[4] = {
        t[0] | (t[1] << 51),
        (t[1] >> 13) | (t[2] << 38),
        (t[2] >> 26) | (t[3] << 25),
        (t[3] >> 39) | (t[4] << 12),
    };
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++) s[8 * i + b] = (uint8_t)(w[i] >> (8 * b));
}

static int fe_iszero(const fe *f) {
    uint8_t s[32];
    fe_tobytes(s, f);
    uint8_t any = 0;
    for (int i = 0; i < 32; i++) any |= s[i];
    return any == 0;
}

static int fe_isnegative(const fe *f) {
    uint8_t s[32];
    fe_tobytes(s, f);
    return s[0] & 1;
}

static int fe_equal(const fe *f, const fe *g) {
    fe t;
    fe_sub(&t, f, g);
    return fe_iszero(&t);
}

/// The same value with limbs below 2^52.
static inline void fe_carry(fe *h) {
    for (int i = 0; i < 4; i++) {
        h->v[i + 1] += h->v[i] >> 51;
        h->v[i] &= MASK51;
    }
    h->v[0] += 19 * (h->v[4] >> 51);
    h->v[4] &= MASK51;
}

static inline void fe_neg(fe *h, const fe *f) {
    fe z;
    fe_zero(&z);
    fe_sub(h, &z, f);
}

/// z^(2^252 - 3) = z^((p - 5) / 8), for square roots.
static void fe_pow22523(fe *out, const fe *z) {
    fe t0, t1, t2;
    fe_sq(&t0, z);               // z^2
    fe_sq_times(&t1, &t0, 2);    // z^8
    fe_mul(&t1, z, &t1);         // z^9
    fe_mul(&t0, &t0, &t1);       // z^11
    fe_sq(&t0, &t0);             // z^22
    fe_mul(&t0, &t1, &t0);       // z^31 = z^(2^5 - 1)
    fe_sq_times(&t1, &t0, 5);    //
    fe_mul(&t0, &t1, &t0);       // z^(2^10 - 1)
    fe_sq_times(&t1, &t0, 10);   //
    fe_mul(&t1, &t1, &t0);       // z^(2^20 - 1)
    fe_sq_times(&t2, &t1, 20);   //
    fe_mul(&t1, &t2, &t1);       // z^(2^40 - 1)
    fe_sq_times(&t1, &t1, 10);   //
    fe_mul(&t0, &t1, &t0);       // z^(2^50 - 1)
    fe_sq_times(&t1, &t0, 50);   //
    fe_mul(&t1, &t1, &t0);       // z^(2^100 - 1)
    fe_sq_times(&t2, &t1, 100);  //
    fe_mul(&t1, &t2, &t1);       // z^(2^200 - 1)
    fe_sq_times(&t1, &t1, 50);   //
    fe_mul(&t0, &t1, &t0);       // z^(2^250 - 1)
    fe_sq_times(&t0, &t0, 2);    // z^(2^252 - 4)
    fe_mul(out, &t0, z);         // z^(2^252 - 3)
}

// ---------------------------------------------------------------------------
// Points

typedef struct {
    fe X, Y, Z, T;
} ge;

/// A point made ready to be added: (Y + X, Y - X, 2Z, 2dT).
typedef struct {
    fe YplusX, YminusX, Z2, T2d;
} ge_cached;

static void ge_identity(ge *p) {
    fe_zero(&p->X);
    fe_one(&p->Y);
    fe_one(&p->Z);
    fe_zero(&p->T);
}

/// Decodes a point as RFC 8032 §5.1.3 says, strictly: 0 for y >= p, for x = 0 with the sign bit
/// set, and for a y that is on no point.
static int ge_decode(ge *p, const uint8_t s[32]) {
    fe y, u, v, v3, vxx, x, check;
    fe_frombytes(&y, s);
    uint8_t canonical[32];
    fe_tobytes(canonical, &y);
    for (int i = 0; i < 31; i++)
        if (canonical[i] != s[i]) return 0;
    if (canonical[31] != (s[31] & 0x7f)) return 0;
    int sign = s[31] >> 7;

    fe one;
    fe_one(&one);
    fe_sq(&u, &y);
    fe_mul(&v, &u, &fe_d);
    fe_sub(&u, &u, &one);  // u = y^2 - 1
    fe_add(&v, &v, &one);  // v = d y^2 + 1
    fe_carry(&u);
    fe_carry(&v);

    // x = u v^3 (u v^7)^((p - 5) / 8)
    fe_sq(&v3, &v);
    fe_mul(&v3, &v3, &v);  // v^3
    fe_sq(&x, &v3);
    fe_mul(&x, &x, &v);
    fe_mul(&x, &x, &u);  // u v^7
    fe_pow22523(&x, &x);
    fe_mul(&x, &x, &v3);
    fe_mul(&x, &x, &u);

    fe_sq(&vxx, &x);
    fe_mul(&vxx, &vxx, &v);
    if (!fe_equal(&vxx, &u)) {
        fe_add(&check, &vxx, &u);
        if (!fe_iszero(&check)) return 0;
        fe_mul(&x, &x, &fe_sqrtm1);
    }
    if (fe_iszero(&x) && sign) return 0;
    if (fe_isnegative(&x) != sign) {
        fe_neg(&x, &x);
        fe_carry(&x);
    }

    p->X = x;
    p->Y = y;
    fe_one(&p->Z);
    fe_mul(&p->T, &x, &y);
    return 1;
}

static void ge_to_cached(ge_cached *c, const ge *p) {
    fe_add(&c->YplusX, &p->Y, &p->X);
    fe_sub(&c->YminusX, &p->Y, &p->X);
    fe_add(&c->Z2, &p->Z, &p->Z);
    fe_mul(&c->T2d, &p->T, &fe_d2);
}

/// r = p + q (or p - q with `subtract`): add-2008-hwcd-3, 8 multiplications.
static void ge_add(ge *r, const ge *p, const ge_cached *q, int subtract) {
    fe a, b, c, d, e, f, g, h, t;
    fe_sub(&t, &p->Y, &p->X);
    fe_mul(&a, &t, subtract ? &q->YplusX : &q->YminusX);
    fe_add(&t, &p->Y, &p->X);
    fe_mul(&b, &t, subtract ? &q->YminusX : &q->YplusX);
    fe_mul(&c, &p->T, &q->T2d);
    fe_mul(&d, &p->Z, &q->Z2);
    fe_sub(&e, &b, &a);
    fe_add(&h, &b, &a);
    if (subtract) {
        fe_add(&f, &d, &c);
        fe_sub(&g, &d, &c);
    } else {
        fe_sub(&f, &d, &c);
        fe_add(&g, &d, &c);
    }
    fe_mul(&r->X, &e, &f);
    fe_mul(&r->Y, &g, &h);
    fe_mul(&r->T, &e, &h);
    fe_mul(&r->Z, &f, &g);
}

/// r = 2p: dbl-2008-hwcd with a = -1, 4 squarings and 4 multiplications.
static void ge_double(ge *r, const ge *p) {
    fe a, b, c, e, f, g, h, t;
    fe_sq(&a, &p->X);
    fe_sq(&b, &p->Y);
    fe_sq(&c, &p->Z);
    fe_add(&c, &c, &c);
    fe_add(&t, &p->X, &p->Y);
    fe_sq(&e, &t);
    fe_add(&t, &a, &b);  // A + B
    fe_sub(&e, &e, &t);  // E = (X + Y)^2 - A - B
    fe_sub(&g, &b, &a);  // G = D + B = B - A
    fe_sub(&f, &g, &c);  // F = G - C
    fe_neg(&h, &t);      // H = D - B = -A - B
    fe_mul(&r->X, &e, &f);
    fe_mul(&r->Y, &g, &h);
    fe_mul(&r->T, &e, &h);
    fe_mul(&r->Z, &f, &g);
}

static int ge_is_identity(const ge *p) { return fe_iszero(&p->X) && fe_equal(&p->Y, &p->Z); }

// ---------------------------------------------------------------------------
// Scalars mod L = 2^252 + 27742317777372353535851937790883648493, as four 64-bit limbs

static const uint64_t order[4] = {0x5812631a5cf5d3edULL, 0x14def9dea2f79cd6ULL, 0, 0x1000000000000000ULL};
/// floor(2^512 / L), for Barrett reduction.
static const uint64_t barrett_mu[5] = {0xed9ce5a30a2c131bULL, 0x2106215d086329a7ULL, 0xffffffffffffffebULL,
                                       0xffffffffffffffffULL, 0xfULL};

/// r = a * b, all little-endian limbs, r holding na + nb limbs.
static void mp_mul(uint64_t *r, const uint64_t *a, int na, const uint64_t *b, int nb) {
    memset(r, 0, sizeof(uint64_t) * (size_t)(na + nb));
    for (int i = 0; i < na; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < nb; j++) {
            u128 t = (u128)a[i] * b[j] + r[i + j] + carry;
            r[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        r[i + nb] = carry;
    }
}

/// Whether a (n limbs, n >= 4) >= L.
static int at_least_order(const uint64_t *a, int n) {
    for (int i = n - 1; i >= 4; i--)
        if (a[i]) return 1;
    for (int i = 3; i >= 0; i--) {
        if (a[i] != order[i]) return a[i] > order[i];
    }
    return 1;
}

/// a -= L over n limbs (a >= L).
static void sub_order(uint64_t *a, int n) {
    uint64_t borrow = 0;
    for (int i = 0; i < n; i++) {
        uint64_t o = i < 4 ? order[i] : 0;
        u128 t = (u128)a[i] - o - borrow;
        a[i] = (uint64_t)t;
        borrow = (uint64_t)(t >> 64) & 1;
    }
}

/// r = x mod L for x < 2^512 (eight limbs): Barrett with base 2^64, k = 4.
static void sc_reduce(uint64_t r[4], const uint64_t x[8]) {
    uint64_t q2[10], r2[10], rem[5];
    mp_mul(q2, x + 3, 5, barrett_mu, 5);  // q1 * mu, q1 = x / b^3
    mp_mul(r2, q2 + 5, 5, order, 4);      // q3 * L, q3 = q2 / b^5; only its low 5 limbs count
    uint64_t borrow = 0;                  // rem = (x - q3 L) mod b^5
    for (int i = 0; i < 5; i++) {
        u128 t = (u128)x[i] - r2[i] - borrow;
        rem[i] = (uint64_t)t;
        borrow = (uint64_t)(t >> 64) & 1;
    }
    while (at_least_order(rem, 5)) sub_order(rem, 5);
    memcpy(r, rem, 4 * sizeof(uint64_t));
}

static void sc_load(uint64_t r[4], const uint8_t s[32]) {
    for (int i = 0; i < 4; i++) r[i] = load64_le(s + 8 * i);
}

/// Signed digits of a scalar below 2^253 in width-5 non-adjacent form: each odd, within ±15, with
/// at least four zeros after it; digit i weighs 2^i.
static void sc_wnaf(int8_t naf[256], const uint64_t k[4]) {
    uint64_t x[5] = {k[0], k[1], k[2], k[3], 0};
    memset(naf, 0, 256);
    const int width = 32, mask = 31;
    int carry = 0;
    for (int pos = 0; pos < 256;) {
        int word = pos / 64, bit = pos % 64;
        uint64_t bits = x[word] >> bit;
        if (bit > 64 - 5) bits |= x[word + 1] << (64 - bit);
        int window = carry + (int)(bits & mask);
        if ((window & 1) == 0) {
            pos += 1;
            continue;
        }
        if (window < width / 2) {
            carry = 0;
            naf[pos] = (int8_t)window;
        } else {
            carry = 1;
            naf[pos] = (int8_t)(window - width);
        }
        pos += 5;
    }
}

// ---------------------------------------------------------------------------
// The batch

/// The odd multiples P, 3P, ..., 15P.
static void table_of(ge_cached table[8], const ge *p) {
    ge twice, current = *p;
    ge_cached step;
    ge_double(&twice, p);
    ge_to_cached(&step, &twice);
    ge_to_cached(&table[0], &current);
    for (int i = 1; i < 8; i++) {
        ge_add(&current, &current, &step, 0);
        ge_to_cached(&table[i], &current);
    }
}

/// Whether the scalar s is below L (RFC 8032 refuses any other).
static int scalar_is_canonical(const uint8_t s[32]) {
    uint64_t v[4];
    sc_load(v, s);
    return !at_least_order(v, 4);
}

int phc_ed25519_verify_batch(size_t count, const uint8_t *records) {
    if (count == 0 || count > (SIZE_MAX / 4096)) return 0;
    size_t points = 2 * count + 1;
    ge_cached *tables = malloc(points * 8 * sizeof(ge_cached));
    int8_t *digits = malloc(points * 256);
    if (!tables || !digits) {
        free(tables);
        free(digits);
        return 0;
    }
    int ok = 0;
    uint64_t sum[8] = {0};  // sum z_i s_i, below 2^(381 + log2 count)
    ge point;
    static const uint8_t base_encoding[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                              0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                              0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
    for (size_t i = 0; i < count; i++) {
        const uint8_t *key = records + PHC_ED25519_RECORD * i, *r = key + 32, *s = r + 32, *digest = s + 32,
                      *weight = digest + 64;
        if (!scalar_is_canonical(s)) goto done;
        // z_i odd, so never 0 (a signature weighed by 0 would not be checked at all).
        uint64_t z[2] = {load64_le(weight) | 1, load64_le(weight + 8)};
        uint64_t scalar[4], wide[8] = {0}, product[6];

        // z_i R_i
        if (!ge_decode(&point, r)) goto done;
        table_of(&tables[(2 * i) * 8], &point);
        uint64_t zs[4] = {z[0], z[1], 0, 0};
        sc_wnaf(&digits[(2 * i) * 256], zs);

        // (z_i k_i mod L) A_i
        if (!ge_decode(&point, key)) goto done;
        table_of(&tables[(2 * i + 1) * 8], &point);
        for (int w = 0; w < 8; w++) wide[w] = load64_le(digest + 8 * w);
        sc_reduce(scalar, wide);
        mp_mul(product, z, 2, scalar, 4);
        memset(wide, 0, sizeof wide);
        memcpy(wide, product, sizeof product);
        sc_reduce(scalar, wide);
        sc_wnaf(&digits[(2 * i + 1) * 256], scalar);

        // sum z_i s_i
        sc_load(scalar, s);
        mp_mul(product, z, 2, scalar, 4);
        uint64_t carry = 0;
        for (int w = 0; w < 8; w++) {
            u128 t = (u128)sum[w] + (w < 6 ? product[w] : 0) + carry;
            sum[w] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
    }
    // (-sum z_i s_i mod L) B
    {
        uint64_t b[4], negated[4];
        sc_reduce(b, sum);
        uint64_t borrow = 0;
        for (int w = 0; w < 4; w++) {
            u128 t = (u128)order[w] - b[w] - borrow;
            negated[w] = (uint64_t)t;
            borrow = (uint64_t)(t >> 64) & 1;
        }
        if (!(b[0] | b[1] | b[2] | b[3])) memset(negated, 0, sizeof negated);
        if (!ge_decode(&point, base_encoding)) goto done;
        table_of(&tables[(points - 1) * 8], &point);
        sc_wnaf(&digits[(points - 1) * 256], negated);
    }

    // Straus: one run of doublings for all, each point's digits added on the way.
    int top = 255;
    for (; top >= 0; top--) {
        int any = 0;
        for (size_t j = 0; j < points && !any; j++) any = digits[j * 256 + top] != 0;
        if (any) break;
    }
    ge sum_point;
    ge_identity(&sum_point);
    for (int bit = top; bit >= 0; bit--) {
        ge_double(&sum_point, &sum_point);
        for (size_t j = 0; j < points; j++) {
            int digit = digits[j * 256 + bit];
            if (digit > 0) ge_add(&sum_point, &sum_point, &tables[j * 8 + digit / 2], 0);
            if (digit < 0) ge_add(&sum_point, &sum_point, &tables[j * 8 + (-digit) / 2], 1);
        }
    }
    for (int i = 0; i < 3; i++) ge_double(&sum_point, &sum_point);
    ok = ge_is_identity(&sum_point);
done:
    free(tables);
    free(digits);
    return ok;
}
