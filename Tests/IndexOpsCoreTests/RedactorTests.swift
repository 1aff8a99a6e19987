import IndexOpsCore
import Testing

/// One choke point for secrets (DESIGN.md §10): every configured secret, in every spelling
/// output may give it, becomes `<redacted>`.
@Suite("Redactor")
struct RedactorTests {
    static let config: ControllerConfig = {
        var config = ControllerConfig()
        config.repository.url = "https://bot:hunter2%21secret@git.example.com/acme/specs.git"
        config.repository.tokenFile = "/run/secrets/token"
        config.repository.tokenEnv = "GIT_TOKEN"
        config.repository.sshKeyFile = "/run/secrets/id_ed25519"
        config.server.webhookSecretFile = "/run/secrets/webhook"
        config.indexTypes["graph"] = IndexTypeSettings(
            driver: .exec, command: ["/opt/graph"],
            env: ["API_TOKEN": "s3cr3t-token-value", "DEBUG": "1", "GRAPH_URL": "http://neo4j:graph-pass@graph:7474"])
        var vector = IndexTypeSettings(driver: .sqliteVector)
        vector.embedder = EmbedderSettings(url: "http://127.0.0.1:11434/v1/embeddings", model: "m", dimensions: 8, apiKeyFile: "/run/secrets/embedder")
        config.indexTypes["vector"] = vector
        return config
    }()

    static let files = [
        "/run/secrets/token": "ghp_tokenfilecontents\n",
        "/run/secrets/webhook": "webhook-secret-value\n",
        "/run/secrets/embedder": "sk-embedder-key-value\n",
        "/run/secrets/id_ed25519": "-----BEGIN KEY-----\nkeymaterialline\n-----END KEY-----\n",
    ]

    static let redactor = config.redactor(readFile: { files[$0] }, environment: ["GIT_TOKEN": " env-token-value \n"])

    @Test func everySourceIsRedacted() {
        let text = """
            env s3cr3t-token-value, url hunter2%21secret decoded hunter2!secret, file ghp_tokenfilecontents, \
            webhook webhook-secret-value, variable env-token-value, graph graph-pass, key keymaterialline, \
            embedder sk-embedder-key-value
            """
        #expect(Self.redactor.redact(text) == """
            env <redacted>, url <redacted> decoded <redacted>, file <redacted>, \
            webhook <redacted>, variable <redacted>, graph <redacted>, key <redacted>, \
            embedder <redacted>
            """)
    }

    @Test func encodedSpellingsAreRedacted() {
        let redactor = Redactor(secrets: [.init(setting: "x", value: "a\"b<c>&d e")])
        #expect(redactor.redact(#"json "a\"b<c>&d e""#) == #"json "<redacted>""#)
        #expect(redactor.redact("html a&quot;b&lt;c&gt;&amp;d e.") == "html <redacted>.")
        #expect(redactor.redact("url a%22b%3Cc%3E%26d%20e@host") == "url <redacted>@host")
        #expect(redactor.redact("raw a\"b<c>&d e!") == "raw <redacted>!")
    }

    @Test func secretsAreFoundAnywhere() {
        let redactor = Redactor(secrets: [.init(setting: "a", value: "abcd"), .init(setting: "b", value: "abcdef")])
        #expect(redactor.redact("abcdef") == "<redacted>", "the longest secret wins")
        #expect(redactor.redact("éabcdé…abcd") == "é<redacted>é…<redacted>")
        #expect(redactor.redact("ab cd") == "ab cd")
        #expect(redactor.redact("") == "")
    }

    @Test func shortSecretsAreNamedNotRedacted() {
        #expect(Self.redactor.unredactable == [#"indexTypes["graph"].env["DEBUG"]"#])
        #expect(Self.redactor.redact("retry 1 of 10") == "retry 1 of 10")
    }

    @Test func urlPasswords() {
        #expect(Redactor.urlPassword("https://user:pa:ss@host/x") == "pa:ss")
        #expect(Redactor.urlPassword("ssh://git@host/x") == nil)
        #expect(Redactor.urlPassword("https://host/x?u=a:b@c") == nil)
        #expect(Redactor.urlPassword("postgresql://app:pw0rd@db:5432/app") == "pw0rd")
        #expect(Redactor.urlPassword("git@github.com:acme/x.git") == nil)
    }

    /// A setting that looks like it holds or names a secret must be one of the redactor's
    /// sources: adding `apiKeyFile` or `passwordFile` without a line in
    /// `ControllerConfig.secretSources` fails here.
    @Test func everySecretLookingSettingIsASource() {
        let sources = Set(Self.config.secretSources.map(\.setting))
        let secretish = /(?i)(secret|token|password|passphrase|apikey|keyfile)/
        for leaf in SettingsReflection.leaves(of: Self.config) {
            let name = String(SettingsReflection.shape(leaf.path).split(separator: ".").last ?? "")
            guard name.firstMatch(of: secretish) != nil else { continue }
            #expect(sources.contains(leaf.path), "\(leaf.path) looks like a secret but ControllerConfig.secretSources does not list it")
        }
    }
}
