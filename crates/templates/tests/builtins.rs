//! Built-in templates: they parse cleanly, the seeds' names exist, inheritance merges.

use prism_templates::{base_image, builtin_sources, parse_template, Catalogue, Origin};

#[test]
fn every_builtin_parses_without_warnings() {
    let sources = builtin_sources();
    assert!(sources.len() >= 5);
    for (file, yaml) in sources {
        let parsed = parse_template(yaml, file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(parsed.warnings.is_empty(), "{file}: {:?}", parsed.warnings);
        let t = parsed.template;
        assert!(t.version.is_some(), "{file} has no version");
        let base = t.base.as_deref().unwrap_or_default();
        assert!(base_image(base, "x86_64").is_some(), "{file}: base {base}");
        assert!(t.ami_config.ssh_user.is_some(), "{file}: no ssh_user");
    }
}

#[test]
fn builtin_catalogue_is_clean_and_has_the_seed_names() {
    let cat = Catalogue::load(None);
    assert!(cat.issues().is_empty(), "{:?}", cat.issues());
    for name in [
        "python-ml",
        "r-research",
        "amazon-linux-2023",
        "ubuntu-24.04",
        "ubuntu-22.04-base",
    ] {
        let e = cat.get(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(e.origin, Origin::Builtin);
        assert!(e.warnings.is_empty(), "{name}: {:?}", e.warnings);
    }
    let ids: Vec<&str> = cat.latest().iter().map(|e| e.template.id()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "latest() is sorted by id");
}

#[test]
fn python_ml_matches_the_brief() {
    let cat = Catalogue::load(None);
    let e = cat.get("python-ml").expect("python-ml");
    let t = &e.template;
    assert_eq!(t.base.as_deref(), Some("ubuntu-22.04"));
    assert_eq!(t.effective_ports(), vec![22, 8888]);
    assert_eq!(t.instance_defaults.r#type.as_deref(), Some("t3.large"));
    assert_eq!(t.instance_defaults.root_volume_gb, Some(50));
    assert_eq!(
        t.instance_defaults.estimated_cost_per_hour["x86_64"],
        0.0832
    );
    assert_eq!(t.instance_defaults.estimated_cost_per_hour["arm64"], 0.0672);
    assert_eq!(t.ami_config.instance_types["x86_64"], "t3.large");
    assert_eq!(t.ami_config.instance_types["arm64"], "t4g.large");
    assert_eq!(t.ami_config.ssh_user.as_deref(), Some("ubuntu"));
    assert_eq!(t.version.as_deref(), Some("1.0.0"));
    assert_eq!(t.category.as_deref(), Some("Machine Learning"));
    for p in ["numpy", "pandas", "scikit-learn", "pytorch", "jupyterlab"] {
        assert!(t.packages.conda.iter().any(|c| c == p), "missing {p}");
    }
}

#[test]
fn builtin_inheritance_merges_lists_maps_and_scalars() {
    let cat = Catalogue::load(None);
    let base = cat.get("ubuntu-22.04-base").expect("base");
    let ml = cat.get("python-ml").expect("python-ml");
    assert_eq!(ml.raw.inherits, vec!["ubuntu-22.04-base"]);
    assert!(ml.template.inherits.is_empty());

    // List: parent items first, then the child's, de-duplicated.
    let sys = &ml.template.packages.system;
    assert_eq!(
        &sys[..base.template.packages.system.len()],
        &base.template.packages.system[..]
    );
    assert_eq!(sys.last().map(String::as_str), Some("python3-dev"));
    assert!(!ml.raw.packages.system.contains(&"git".to_string()));
    assert!(sys.contains(&"git".to_string()));
    assert_eq!(ml.template.users, base.template.users);

    // Map: merged, child keys win.
    assert_eq!(ml.template.tags["os"], "ubuntu");
    assert_eq!(ml.template.tags["purpose"], "machine-learning");
    assert_eq!(base.template.tags["purpose"], "base");

    // Scalar: child wins when set, else the parent's value.
    assert_eq!(ml.template.package_manager.as_deref(), Some("conda"));
    assert!(ml.raw.idle_detection.is_none());
    assert_eq!(ml.template.idle_detection, base.template.idle_detection);
    assert_eq!(ml.template.complexity.as_deref(), Some("moderate"));

    // Never inherited.
    assert_eq!(ml.template.description, ml.raw.description);
    assert_eq!(ml.template.name, "python-ml");

    let r = cat.get("r-research").expect("r-research");
    assert_eq!(r.template.effective_ports(), vec![22, 8787]);
    assert!(r.template.packages.system.contains(&"r-base".to_string()));
    assert!(r.template.packages.system.contains(&"tmux".to_string()));

    let al = cat.get("amazon-linux-2023").expect("al2023");
    assert_eq!(al.template.ami_config.ssh_user.as_deref(), Some("ec2-user"));
    assert_eq!(al.template.package_manager.as_deref(), Some("dnf"));
}

/// Issue 10, item 7: the machine-learning built-in names the AWS Deep Learning Base image
/// (owner `amazon`) for GPU sizes; its GPU image is valid; the others have none.
#[test]
fn python_ml_has_a_deep_learning_base_gpu_image_and_no_other_builtin_does() {
    let cat = Catalogue::load(None);
    let t = &cat.get("python-ml").unwrap().template;
    let g = t
        .ami_config
        .gpu_image
        .as_ref()
        .expect("python-ml has a GPU image");
    let s = g.ami_search.as_ref().expect("found by a search");
    assert_eq!(s.owner, "amazon");
    assert_eq!(
        s.name_pattern,
        "Deep Learning *Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
    );
    assert!(prism_templates::validate::gpu_image_errors(g).is_empty());
    for name in [
        "r-research",
        "amazon-linux-2023",
        "ubuntu-24.04",
        "ubuntu-22.04-base",
    ] {
        let t = &cat.get(name).unwrap().template;
        assert!(t.ami_config.gpu_image.is_none(), "{name}");
    }
}
