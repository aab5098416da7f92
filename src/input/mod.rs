//! Produce input parsers (lines, json, csv).
