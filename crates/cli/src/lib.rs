//! prism-cli
