import Foundation
import Testing
@testable import Indexers

/// The chunker works in bounded memory and cuts exactly as it did when it held a paragraph as
/// an array of `Character`s (16 bytes each: a 30 MB paragraph took 633 MB).
@Suite("Text chunker")
struct TextChunkerTests {
    /// The chunker as it was, kept as the reference for the cuts.
    struct ReferenceChunker {
        var targetLength: Int

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

        static func paragraphs(of text: String) -> [String] {
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

        static func trimmed<S: StringProtocol>(_ text: S) -> String {
            guard let first = text.firstIndex(where: { !$0.isWhitespace }),
                  let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
            return String(text[first...last])
        }

        func split(_ paragraph: String) -> [String] {
            let characters = Array(paragraph)
            var pieces: [String] = []
            var start = 0
            while start < characters.count {
                if characters[start].isWhitespace {
                    start += 1
                    continue
                }
                var end = min(start + targetLength, characters.count)
                if end < characters.count, let space = characters[(start + targetLength / 2)..<end].lastIndex(where: \.isWhitespace) {
                    end = space
                }
                let piece = Self.trimmed(String(characters[start..<end]))
                if !piece.isEmpty { pieces.append(piece) }
                start = end
            }
            return pieces
        }
    }

    /// SplitMix64: the same texts on every run.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func cutsAsTheReferenceDoesOnManyTexts() {
        let tokens = ["word", "retrieval", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n \n", "\r", "\u{2028}", "é", "e\u{301}", "🧑‍🚀", "x", "longlonglonglonglonglonglong"]
        var random = Random(state: 42)
        for round in 0..<400 {
            var text = ""
            for _ in 0..<Int(random.next() % 120) { text += tokens[Int(random.next() % UInt64(tokens.count))] }
            let target = [8, 13, 20, 40, 1000][round % 5]
            #expect(TextChunker(targetLength: target).chunks(of: text) == ReferenceChunker(targetLength: target).chunks(of: text), "\(text.debugDescription) at \(target)")
        }
    }

    /// A source of one long paragraph: every chunk at most the target, nothing lost.
    @Test func oneLongParagraphIsCutWithoutLosingWords() {
        let text = (0..<20_000).map { "w\($0 % 97)" }.joined(separator: " ")
        let chunks = TextChunker().chunks(of: text)
        #expect(chunks.allSatisfy { $0.count <= 1_000 && !$0.isEmpty })
        #expect(chunks.joined(separator: " ") == text)
    }
}
