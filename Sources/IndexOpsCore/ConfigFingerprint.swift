extension ControllerConfig {
    /// A digest of the whole effective configuration: every setting, found by reflection
    /// (``SettingsReflection``), so that a setting added later is covered without anyone
    /// remembering to add it here. A pass whose fingerprint differs from the last pass's is
    /// never idle (DESIGN.md §5: "HEAD, the status tree and the configuration are unchanged").
    ///
    /// The same configuration gives the same fingerprint in every process (dictionaries are
    /// walked by sorted key). Secrets the configuration holds (exec `env` values) only enter a
    /// SHA-256 digest, which is kept in `<git dir>/indexops/state.json`.
    public var fingerprint: String {
        let text = SettingsReflection.leaves(of: self).map { "\($0.path)=\($0.text)" }.joined(separator: "\n")
        return Digests.sha256Hex(text)
    }
}
