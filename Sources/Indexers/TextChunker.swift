/// Splits document text into chunks of about `targetLength` characters for the built-in
/// indexes, keeping paragraphs (blocks separated by a blank line) together when they fit.
///
/// A paragraph longer than the target is cut at the last whitespace before the target (or
/// at the target when it has none). Short paragraphs are packed together, separated by a
/// blank line. Chunks are trimmed; whitespace-only text gives no chunk.
struct TextChunker {
    /// The largest chunk, in characters.
    var targetLength = 1_000

    /// The text of source bytes: UTF-8 without NUL bytes, a leading byte order mark removed.
    ///
    /// - Throws: ``IndexerError`` for binary content (a NUL byte or invalid UTF-8).
    static func text(of bytes: [UInt8], driver: String) throws(IndexerError) -> String {
        if let nul = bytes.firstIndex(of: 0) {
            throw IndexerError("\(driver): the source is binary, not text (a NUL byte at offset \(nul))")
        }
        guard var text = String(validating: bytes, as: UTF8.self) else {
            throw IndexerError("\(driver): the source is not UTF-8 text")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return text
    }

    /// The chunks of `text`, in order.
    func chunks(of text: String) -> [String] {
        var pieces: [String] = []
        for paragraph in Self.paragraphs(of: text) {
            if paragraph.count <= targetLength { pieces.append(paragraph) } else { pieces += split(paragraph) }
        }
        var chunks: [String] = []
        var current = ""
        var currentLength = 0
        for piece in pieces {
            let length = piece.count
            if currentLength > 0, currentLength + 2 + length > targetLength {
                chunks.append(current)
                current = ""
                currentLength = 0
            }
            if currentLength > 0 {
                current += "\n\n"
                currentLength += 2
            }
            current += piece
            currentLength += length
        }
        if currentLength > 0 { chunks.append(current) }
        return chunks
    }

    /// Blocks of non-blank lines, each trimmed.
    private static func paragraphs(of text: String) -> [String] {
        var paragraphs: [String] = []
        var lines: [Substring] = []
        func flush() {
            let paragraph = trimmed(lines.joined(separator: "\n"))
            if !paragraph.isEmpty { paragraphs.append(paragraph) }
            lines = []
        }
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.allSatisfy(\.isWhitespace) { flush() } else { lines.append(line) }
        }
        flush()
        return paragraphs
    }

    private static func trimmed<S: StringProtocol>(_ text: S) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(text[first...last])
    }

    /// A long paragraph cut at whitespace into pieces of at most `targetLength` characters.
    private func split(_ paragraph: String) -> [String] {
        let characters = Array(paragraph)
        var pieces: [String] = []
        var start = 0
        while start < characters.count {
            if characters[start].isWhitespace {
                start += 1
                continue
            }
            var end = min(start + targetLength, characters.count)
            if end < characters.count {
                // Cut at the last whitespace in the second half of the window, if any.
                if let space = characters[(start + targetLength / 2)..<end].lastIndex(where: \.isWhitespace) {
                    end = space
                }
            }
            let piece = Self.trimmed(String(characters[start..<end]))
            if !piece.isEmpty { pieces.append(piece) }
            start = end
        }
        return pieces
    }
}
