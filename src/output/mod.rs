//! Consume output formatters (raw, json, csv, kcat template).
