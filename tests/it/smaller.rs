//! Smaller fixes of issue 17, each pinned: a pager that cannot start, a commit whose date is out
//! of range, and `doctor --fix` repairs that do not depend on one another.

use crate::common::*;

/// `$PAGER` is not there (or `less` is not installed): the README is printed instead, exit 0.
#[test]
fn a_pager_that_cannot_start_means_the_readme_is_printed() {
    let env = Env::new();
    let long: String = (1..=300).map(|i| format!("Line number {i} of the manual.\n\n")).collect();
    let dir = env.plugin("src/doc", &yaml("doc", ""), &[("README.md", &format!("# Manual\n\n{long}"), false)]);
    env.ok(&["add", "-y", dir.to_str().unwrap()]);
    for pager in ["/nonexistent/pager", "./not-executable"] {
        write(&env.path("not-executable"), "#!/bin/sh\ncat\n", false);
        let mut cmd = std::process::Command::new(bin());
        env.apply(&mut cmd);
        cmd.env_remove("CI").env("TERM", "dumb").env("PAGER", pager).args(["help", "doc"]);
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
        let shown = p.exp_eof().unwrap();
        assert!(
            shown.contains("Line number 300 of the manual.") && shown.contains("doc (plugins/doc)"),
            "{pager}: {shown:?}"
        );
        assert!(shown.contains("the pager ($PAGER, else `less`) could not be started"), "{shown:?}");
        let status = format!("{:?}", p.process().wait().unwrap());
        assert!(status.starts_with("Exited(") && status.ends_with(", 0)"), "{pager}: {status}");
    }
}
