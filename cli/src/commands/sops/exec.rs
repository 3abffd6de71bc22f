//! `exec-env` and `exec-file`: give decrypted values to a command without writing them to
//! a file in the working tree. The command runs with `/bin/sh -c` like sops runs it, and
//! its exit code becomes sealbox's.
//!
//! `exec-file` writes the plaintext into a FIFO (the default: it never reaches a disk and
//! can be read once) or, with `--no-fifo`, into a 0600 file, inside a private 0700 directory
//! that is removed when the command ends, when sealbox fails, and on SIGTERM/SIGHUP.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitStatus};

use sealbox_keys::sops::{MapItem, Node, Plain, Scalar, gofmt};
use zeroize::Zeroizing;

use super::failure::{CONFLICTING_PARAMETERS, GENERIC, check_decryption_order, fail, sops};
use super::io;
use super::private_dir::{ForegroundChild, PrivateDir, write_private_file};
use super::{Ctx, ExecEnvArgs, ExecFileArgs, config, format_for, identity};
use crate::exit::RawExit;

/// sops' `stores.ValToString` for an environment value.
fn env_value(v: &Scalar) -> String {
    match v {
        Scalar::Str(s) => s.clone(),
        Scalar::BinStr(b) | Scalar::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Time(t) => t.format_rfc3339(),
        Scalar::Float(f) => {
            if f.is_nan() {
                return "NaN".into();
            }
            if f.is_infinite() {
                return if *f > 0.0 { "+Inf" } else { "-Inf" }.into();
            }
            // strconv.FormatFloat(v, 'G', -1, 64), with ".0" when it would read as an integer.
            let g = gofmt::format_float_yaml(*f).replace('e', "E");
            if g.contains('.') || g.contains('E') {
                g
            } else {
                format!("{f:.1}")
            }
        }
    }
}

/// The top-level values as `KEY=value` pairs (complex values are refused, like sops).
fn environment(tree: &[Node<Plain>]) -> anyhow::Result<Vec<(String, Zeroizing<String>)>> {
    let mut out = Vec::new();
    let Some(Node::Map(items)) = tree.first() else {
        return Ok(out);
    };
    for item in items {
        let MapItem::Entry(key, value) = item else {
            continue;
        };
        let text = match value {
            Node::Leaf(Plain::Value(v), _) => env_value(v),
            Node::Null(_) => "<nil>".to_string(),
            Node::Map(_) | Node::Seq(_) => {
                return Err(fail(
                    GENERIC,
                    format!("cannot use complex value in environment; offending key {key}"),
                ));
            }
            Node::Leaf(Plain::Comment(_), _) | Node::Comment(..) => continue,
        };
        if key.contains('=') {
            return Err(fail(
                GENERIC,
                format!("cannot use keys with '=' in environment: {key}"),
            ));
        }
        out.push((key.clone(), Zeroizing::new(text)));
    }
    Ok(out)
}

/// `/bin/sh -c COMMAND`, optionally as another user.
fn shell(command: &str, user: Option<&str>) -> anyhow::Result<Command> {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    if let Some(user) = user {
        let (uid, gid) = lookup_user(user)?;
        use std::os::unix::process::CommandExt as _;
        cmd.uid(uid).gid(gid);
    }
    Ok(cmd)
}

/// A user name (from /etc/passwd) or a numeric uid.
fn lookup_user(user: &str) -> anyhow::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4
            && (f[0] == user || f[2] == user)
            && let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse())
        {
            return Ok((uid, gid));
        }
    }
    match user.parse::<u32>() {
        Ok(uid) => Ok((uid, uid)),
        Err(_) => Err(fail(GENERIC, format!("user: unknown user {user}"))),
    }
}

/// Wait for a foreground child; its non-zero exit becomes sealbox's (as in sops).
fn wait_foreground(mut child: std::process::Child) -> anyhow::Result<()> {
    let status = {
        let _fg = ForegroundChild::new(child.id());
        child.wait()
    }
    .map_err(|e| fail(GENERIC, format!("cannot wait for the command: {e}")))?;
    exit_status(status)
}

fn exit_status(status: ExitStatus) -> anyhow::Result<()> {
    use std::os::unix::process::ExitStatusExt as _;
    if status.success() {
        return Ok(());
    }
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Err(anyhow::Error::new(RawExit {
        code: u8::try_from(code).unwrap_or(1),
        message: format!("the command failed: {status}"),
    }))
}

/// Run `exec-env`.
pub fn exec_env(ctx: &Ctx, args: ExecEnvArgs) -> anyhow::Result<()> {
    if args.background && args.same_process {
        return Err(fail(
            CONFLICTING_PARAMETERS,
            "Error: The --same-process flag cannot be used with --background",
        ));
    }
    check_decryption_order(args.decryption.decryption_order.as_deref())?;
    let path = io::existing(&args.file)?;
    let cfg = config::load(&args.config)?;
    let store = super::store_options(cfg.as_ref(), &args.config);
    let input = io::read_file(&path)?;
    let format = format_for(&path, None);
    let opened =
        identity::open_for_reading(ctx, &input, format, args.decryption.ignore_mac, store)?;
    let env = environment(opened.tree())?;
    drop(opened);
    let mut cmd = shell(&args.command, args.user.as_deref())?;
    if args.pristine {
        cmd.env_clear();
    }
    for (k, v) in &env {
        cmd.env(k, v.as_str());
    }
    if args.same_process {
        use std::os::unix::process::CommandExt as _;
        let err = cmd.exec();
        return Err(fail(GENERIC, format!("cannot run /bin/sh: {err}")));
    }
    if args.background {
        eprintln!(
            "exec-env's --background option is deprecated and will be removed in a future version of sops"
        );
        cmd.spawn()
            .map_err(|e| fail(GENERIC, format!("cannot run /bin/sh: {e}")))?;
        return Ok(());
    }
    let child = cmd
        .spawn()
        .map_err(|e| fail(GENERIC, format!("cannot run /bin/sh: {e}")))?;
    wait_foreground(child)
}

/// Run `exec-file`.
pub fn exec_file(ctx: &Ctx, args: ExecFileArgs) -> anyhow::Result<()> {
    if args.background {
        return Err(fail(
            GENERIC,
            "exec-file --background is not supported by sealbox: the decrypted file is removed as soon as sealbox returns, so a background command could not read it",
        ));
    }
    check_decryption_order(args.decryption.decryption_order.as_deref())?;
    let path = io::existing(&args.file)?;
    let input_format = format_for(&path, args.types.input_type.as_deref());
    let output_format = format_for(&path, args.types.output_type.as_deref());
    let cfg = config::load(&args.config)?;
    let store = super::store_options(cfg.as_ref(), &args.config);
    let input = io::read_file(&path)?;
    let opened =
        identity::open_for_reading(ctx, &input, input_format, args.decryption.ignore_mac, store)?;
    let plaintext = Zeroizing::new(opened.emit_as(output_format).map_err(sops)?);
    drop(opened);
    let dir = PrivateDir::new()?;
    let name = args
        .filename
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "tmp-file".to_string());
    if name.contains('/') || name == "." || name == ".." {
        return Err(fail(
            GENERIC,
            format!("--filename {name:?} must be a plain file name"),
        ));
    }
    let file = if args.no_fifo {
        write_private_file(dir.path(), &name, &plaintext)?
    } else {
        make_fifo(dir.path(), &name, plaintext)?
    };
    let command = args.command.replace("{}", &file.to_string_lossy());
    let cmd = shell(&command, args.user.as_deref());
    let result = cmd.and_then(|mut cmd| {
        let child = cmd
            .spawn()
            .map_err(|e| fail(GENERIC, format!("cannot run /bin/sh: {e}")))?;
        wait_foreground(child)
    });
    drop(dir);
    result
}

/// A FIFO (0600) at `dir/name`, fed once with `plaintext` by a thread as soon as the command
/// opens it. If the command never reads it, the thread ends with the process.
fn make_fifo(
    dir: &Path,
    name: &str,
    plaintext: Zeroizing<Vec<u8>>,
) -> anyhow::Result<std::path::PathBuf> {
    use rustix::fs::{CWD, FileType, Mode, mknodat};
    let path = dir.join(name);
    mknodat(CWD, &path, FileType::Fifo, Mode::RUSR | Mode::WUSR, 0).map_err(|e| {
        fail(
            GENERIC,
            format!("cannot create a FIFO in {}: {e}", dir.display()),
        )
    })?;
    let writer_path = path.clone();
    std::thread::Builder::new()
        .name("sealbox-fifo".into())
        .spawn(move || {
            // Blocks until the command opens the FIFO for reading.
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&writer_path) {
                let _ = f.write_all(&plaintext);
            }
        })
        .map_err(|e| fail(GENERIC, format!("cannot start the FIFO writer: {e}")))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_print_like_sops() {
        assert_eq!(env_value(&Scalar::Float(3.0)), "3.0");
        assert_eq!(env_value(&Scalar::Float(0.75)), "0.75");
        assert_eq!(env_value(&Scalar::Float(1e21)), "1E+21");
        assert_eq!(env_value(&Scalar::Float(1234567.0)), "1.234567E+06");
        assert_eq!(env_value(&Scalar::Int(-42)), "-42");
        assert_eq!(env_value(&Scalar::Bool(true)), "true");
    }
}
