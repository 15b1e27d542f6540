//! Kubernetes-style resource quantities as Cloud Run takes them: "1" = "1000m" CPU,
//! "512Mi" = "0.5Gi" = 536870912 bytes, but "512M" = 512000000 bytes.

/// CPU in millicores: "1" → 1000, "1000m" → 1000, "0.5" → 500, "2" → 2000.
pub fn parse_cpu(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(m) = s.strip_suffix('m') {
        return m
            .parse::<f64>()
            .ok()
            .filter(|v| *v >= 0.0)
            .map(|v| v.round() as u64);
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0 && v.is_finite())
        .map(|v| (v * 1000.0).round() as u64)
}

/// Memory in bytes: binary suffixes (Ki, Mi, Gi, Ti), decimal ones (k, M, G, T) and plain bytes.
pub fn parse_memory(s: &str) -> Option<u64> {
    let s = s.trim();
    let units: [(&str, f64); 9] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, factor) in units {
        if let Some(n) = s.strip_suffix(suffix) {
            return n
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0 && v.is_finite())
                .map(|v| (v * factor).round() as u64);
        }
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0 && v.is_finite())
        .map(|v| v.round() as u64)
}

/// A readable form of millicores: 1000 → "1", 500 → "500m".
pub fn format_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

/// A readable form of bytes, binary units when exact: 536870912 → "512Mi".
pub fn format_memory(bytes: u64) -> String {
    // Whole binary units of Mi and above first (what Cloud Run users write), then decimal
    // ones, then the small units.
    const UNITS: [(&str, u64); 7] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("G", 1_000_000_000),
        ("M", 1_000_000),
        ("Ki", 1 << 10),
        ("k", 1000),
    ];
    for (suffix, size) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{suffix}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Cloud Run's defaults when no limit is written.
pub const DEFAULT_CPU_MILLIS: u64 = 1000;
pub const DEFAULT_MEMORY_BYTES: u64 = 512 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_spellings_agree() {
        assert_eq!(parse_cpu("1"), Some(1000));
        assert_eq!(parse_cpu("1000m"), Some(1000));
        assert_eq!(parse_cpu("0.5"), Some(500));
        assert_eq!(parse_cpu("2"), parse_cpu("2000m"));
        assert_eq!(parse_cpu("lots"), None);
        assert_eq!(parse_cpu("-1"), None);
    }

    #[test]
    fn memory_spellings_agree() {
        assert_eq!(parse_memory("512Mi"), parse_memory("0.5Gi"));
        assert_eq!(parse_memory("512Mi"), Some(536_870_912));
        assert_eq!(parse_memory("512M"), Some(512_000_000));
        assert_eq!(parse_memory("2Gi"), Some(2 << 30));
        assert_eq!(parse_memory("1024"), Some(1024));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_cpu(1000), "1");
        assert_eq!(format_cpu(500), "500m");
        assert_eq!(format_memory(512 << 20), "512Mi");
        assert_eq!(format_memory(2 << 30), "2Gi");
        assert_eq!(format_memory(512_000_000), "512M");
        assert_eq!(parse_memory(&format_memory(3 << 29)), Some(3 << 29));
    }
}
