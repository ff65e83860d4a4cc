//! A full disk, on a small file system made by the test (a tmpfs of a few MB, mounted as
//! root): the server stops taking writes, says why on /readyz, exits non-zero naming the
//! cause, and refuses to start again with the right advice until there is space.

use crate::cli::{Running, run, write_config};
use crate::harness::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(dir: &Path, size: &str) -> SmallFs {
        std::fs::create_dir_all(dir).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "this test mounts a small tmpfs: it must run as root (as CI does)");
        SmallFs(dir.to_path_buf())
    }

    /// Write zeros into `filler` until the file system is full.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn wait_exit(server: &mut Running, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "parley still runs {within:?} after its store failed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_full_disk_stops_the_server_non_zero_naming_the_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = SmallFs::mount(&dir.path().join("data"), "8m");
    seed_owner(dir.path()).await;
    let config = write_config(dir.path(), "[backup]\ndaily = false\n");
    let mut server = Running::start(&config);
    let base = server.base();
    let owner = Client::new(&base);
    owner.login_ok(OWNER_EMAIL, OWNER_PASSWORD).await;
    // One site is acknowledged before the disk fills (how many more fit in the store file's
    // free pages afterwards depends on its layout), then sites are written until the store
    // needs space it cannot have.
    let name = |i: usize| format!("Site {i} of a busy organization with many sites");
    owner.post("/admin/sites", &[("name", &name(0))]).await.assert_redirect("/admin/sites");
    let filler = fs.fill();
    let (mut refused, mut acked) = (None, 1);
    for i in 1..3000 {
        let p = owner.post("/admin/sites", &[("name", &name(i))]).await;
        if p.status != 303 {
            refused = Some(p.status.as_u16());
            break;
        }
        acked += 1;
    }
    assert!(refused.is_some_and(|s| s >= 500), "a write on a full disk is refused: {refused:?}");
    let ready = reqwest::get(format!("{base}/readyz")).await.expect("readyz");
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "failed");
    assert!(body["cause"].as_str().is_some_and(|c| c.contains("full")), "{body}");
    let status = wait_exit(&mut server, Duration::from_secs(20));
    assert!(!status.success(), "a failed store is a failure exit, so that the service manager restarts it");
    server.wait_for("no space left on the device");

    // Started again with the disk still full: refused, with the right advice.
    let (ok, _, err) = run(&["serve", "--config", config.to_str().unwrap_or_default()], None);
    assert!(!ok);
    assert!(err.contains("full") && !err.contains("write access"), "{err}");

    // With space again, it starts and every acknowledged site is there.
    std::fs::remove_file(filler).expect("free space");
    let mut again = Running::start(&config);
    let base = again.base();
    let owner = Client::new(&base);
    owner.login_ok(OWNER_EMAIL, OWNER_PASSWORD).await;
    owner.get("/admin/sites").await.assert_ok().assert_contains("Site 0 ");
    let last = format!("/admin/sites?q={}", name(acked - 1).replace(' ', "+"));
    owner.get(&last).await.assert_ok().assert_contains(&name(acked - 1));
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.expect("readyz").status(), 200);
    assert!(again.terminate().success());
}
