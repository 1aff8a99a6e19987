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
    ///
    /// Works in memory bounded by the text and the chunks: one pass over the characters,
    /// one paragraph at a time, each cut into pieces as it is read (never an array of
    /// `Character`s, 16 bytes each, nor of lines).
    func chunks(of text: String) -> [String] {
        var chunks: [String] = []
        var current = ""
        var currentLength = 0
        func add(_ piece: String) {
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
        Self.forEachParagraph(of: text) { paragraph in
            // Short paragraphs are counted once; a long one is cut where it lies, uncopied.
            if paragraph.utf8.count <= targetLength || paragraph.count <= targetLength {
                add(String(paragraph))
            } else {
                split(paragraph, into: add)
            }
        }
        if currentLength > 0 { chunks.append(current) }
        return chunks
    }

    /// Calls `body` with each block of non-blank lines, joined with `\n` and trimmed: a
    /// slice of `text` itself when its lines end with `\n` (no copy of a long paragraph).
    private static func forEachParagraph(of text: String, _ body: (Substring) -> Void) {
        var first: String.Index?  // where the paragraph's first line starts
        var last = text.startIndex  // where its last line ends
        var built: String?  // the paragraph rebuilt, once a line ended otherwise than with "\n"
        func flush() {
            guard let start = first else { return }
            let paragraph: Substring = if let built { Substring(built) } else { text[start..<last] }
            let kept = trimmed(paragraph)
            if !kept.isEmpty { body(kept) }
            first = nil
            built = nil
        }
        var lineStart = text.startIndex
        var index = text.startIndex
        while true {
            let atEnd = index == text.endIndex
            if atEnd || text[index].isNewline {
                let line = text[lineStart..<index]
                if line.allSatisfy(\.isWhitespace) {
                    flush()
                } else {
                    if let start = first {
                        if built == nil, text[last] != "\n" {
                            // A line ended with "\r\n" or another separator: from here on the
                            // paragraph is built, its lines joined with "\n".
                            built = joinedLines(text[start..<last])
                        }
                        if built != nil {
                            built! += "\n"
                            built! += line
                        }
                    } else {
                        first = lineStart
                    }
                    last = index
                }
                if atEnd { break }
                index = text.index(after: index)
                lineStart = index
            } else {
                index = text.index(after: index)
            }
        }
        flush()
    }

    /// `lines` with each line separator (`\r\n`, `\r`, U+2028, …) written as `\n`.
    private static func joinedLines(_ lines: Substring) -> String {
        var result = ""
        result.reserveCapacity(lines.utf8.count)
        var segment = lines.startIndex
        var index = lines.startIndex
        while index < lines.endIndex {
            if lines[index].isNewline {
                result += lines[segment..<index]
                result += "\n"
                index = lines.index(after: index)
                segment = index
            } else {
                index = lines.index(after: index)
            }
        }
        result += lines[segment...]
        return result
    }

    private static func trimmed(_ text: Substring) -> Substring {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return text[first...last]
    }

    /// A long paragraph cut at whitespace into pieces of at most `targetLength` characters,
    /// each handed to `body` as it is cut: at the last whitespace in the second half of the
    /// window, or at the window's end when there is none.
    private func split(_ paragraph: Substring, into body: (String) -> Void) {
        var start = paragraph.startIndex
        while start < paragraph.endIndex {
            if paragraph[start].isWhitespace {
                start = paragraph.index(after: start)
                continue
            }
            guard let limit = paragraph.index(start, offsetBy: targetLength, limitedBy: paragraph.endIndex), limit < paragraph.endIndex else {
                let piece = Self.trimmed(paragraph[start...])
                if !piece.isEmpty { body(String(piece)) }
                return
            }
            var end = limit
            var index = paragraph.index(start, offsetBy: targetLength / 2)
            while index < limit {
                if paragraph[index].isWhitespace { end = index }
                index = paragraph.index(after: index)
            }
            let piece = Self.trimmed(paragraph[start..<end])
            if !piece.isEmpty { body(String(piece)) }
            start = end
        }
    }
}
