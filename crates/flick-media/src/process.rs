use crate::MediaError;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// Runs `program args…` without a shell, waits at most `timeout`, and returns
/// its stdout. On failure the error carries the end of stderr, which is where
/// ffmpeg says what went wrong.
pub(crate) async fn run<I, S>(
    program: &Path,
    args: I,
    timeout: Duration,
) -> Result<Vec<u8>, MediaError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let name = program.display().to_string();
    let mut command = Command::new(program);
    // A process group of its own: a ctrl-c or a service manager's SIGTERM
    // aimed at flick must not kill a transcode mid-way; flick stops its jobs
    // itself, in order, and they resume on the next start.
    #[cfg(unix)]
    command.process_group(0);
    let child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Dropping the future on timeout or shutdown must not leave an
        // orphan ffmpeg burning a core.
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| MediaError::Spawn {
            program: name.clone(),
            source,
        })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.map_err(MediaError::io(program))?,
        Err(_) => {
            return Err(MediaError::Timeout {
                program: name,
                secs: timeout.as_secs(),
            })
        }
    };
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .trim()
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ");
        Err(MediaError::Failed {
            program: name,
            stderr: if tail.is_empty() {
                format!("exit status {}", output.status)
            } else {
                tail
            },
        })
    }
}
