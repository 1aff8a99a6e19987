/// Feature-hashed term vectors: the "embedding" of the `sqlite-vector` driver.
///
/// It is lexical, not semantic: a text becomes the counts of its lower-cased word tokens
/// (runs of letters and digits), each token hashed with 64-bit FNV-1a to a slot and a sign
/// (the signed hashing trick), and the vector is L2-normalised. Two texts are similar when
/// they share words; synonyms are not. The hash is fixed (not Swift's per-process seeded
/// `Hasher`), so vectors written by one run are searched by the next. Real embeddings come
/// through an `exec` indexer.
struct TermHasher: Sendable {
    /// The vector length.
    let dimensions: Int

    /// The lower-cased word tokens of `text`, in order.
    static func tokens(of text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for character in text {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                tokens.append(current.lowercased())
                current = ""
            }
        }
        if !current.isEmpty { tokens.append(current.lowercased()) }
        return tokens
    }

    /// 64-bit FNV-1a of the token's UTF-8 bytes.
    static func fnv1a(_ token: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in token.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The slot of a token (hash modulo the dimensions) and its sign (the hash's top bit).
    func slot(of token: String) -> (index: Int, sign: Float) {
        let hash = Self.fnv1a(token)
        return (Int(hash % UInt64(dimensions)), hash >> 63 == 0 ? 1 : -1)
    }

    /// The L2-normalised vector of `text`; all zeros when it has no word.
    func vector(of text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimensions)
        for token in Self.tokens(of: text) {
            let (index, sign) = slot(of: token)
            vector[index] += sign
        }
        var norm: Float = 0
        for value in vector { norm += value * value }
        guard norm > 0 else { return vector }
        let scale = 1 / norm.squareRoot()
        for i in vector.indices { vector[i] *= scale }
        return vector
    }

    /// The vector as a blob: little-endian IEEE 754 single precision floats.
    static func blob(of vector: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// The dot product of a query vector and a stored blob; `nil` when the blob is of
    /// another length (written with other dimensions).
    static func dot(_ query: [Float], blob: UnsafeRawBufferPointer) -> Float? {
        guard blob.count == query.count * 4 else { return nil }
        var sum: Float = 0
        for i in query.indices where query[i] != 0 {
            let bits = UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            sum += query[i] * Float(bitPattern: bits)
        }
        return sum
    }
}
