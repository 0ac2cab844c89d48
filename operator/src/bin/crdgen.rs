//! Writes the CRD manifests into `crds/` and the Helm chart's copy in `charts/ticketeer/files/crds/`.
//!
//! Usage: `cargo run -p ticketeer-operator --bin crdgen [-- <repository root>]`.

use std::path::PathBuf;

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let root = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    );
    // The chart templates its copy behind `crds.enabled` (templates/crds.yaml); a chart-level
    // `crds/` directory would be installed unconditionally and never upgraded by Helm.
    let targets = [
        root.join("crds"),
        root.join("charts")
            .join("ticketeer")
            .join("files")
            .join("crds"),
    ];
    let files = ticketeer_operator::crdgen::crd_files()?;
    for directory in targets {
        std::fs::create_dir_all(&directory)
            .with_context(|| format!("creating {}", directory.display()))?;
        for file in &files {
            let path = directory.join(&file.file_name);
            std::fs::write(&path, &file.yaml)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
