//! Demo clips for `flick seed`, synthesised by ffmpeg so that a first run
//! shows a living app without shipping any media.

use crate::{process, MediaError, Tools};
use std::path::Path;

/// A demo clip: what it shows, what it sounds like, and its caption.
pub struct DemoClip {
    pub video: String,
    pub audio: String,
    pub caption: &'static str,
}

const SIZE: &str = "540x960";

/// The `index`-th demo clip; the list cycles, varying colour and pitch.
pub fn demo_clip(index: usize) -> DemoClip {
    let hue = (index * 47) % 360;
    let freq = 220 + (index * 55) % 660;
    let (video, caption) = match index % 8 {
        0 => (format!("mandelbrot=s={SIZE}:r=30:start_scale=3:end_scale=0.02,hue=h={hue}"), "Falling into the fractal #mandelbrot #math #satisfying"),
        1 => (format!("gradients=s={SIZE}:r=30:speed=0.02:n=3:seed={index}"), "Colour therapy for your evening #gradients #calm #aesthetic"),
        2 => (format!("life=s=180x320:r=30:mold=10:ratio=0.12:seed={index}:life_color=#3ec9ff:death_color=#1b1040,scale={SIZE}:flags=neighbor"), "Conway would be proud #gameoflife #math #pixels"),
        3 => (format!("cellauto=s=180x320:r=30:rule={}:seed={index},scale={SIZE}:flags=neighbor,hue=h={hue}:s=2", [30, 90, 110, 150][index % 4]), "Rule-based chaos, no AI involved #cellularautomata #pixels"),
        4 => (format!("testsrc2=s={SIZE}:r=30,hue=h={hue}"), "When the test pattern goes hard #retro #tv #satisfying"),
        5 => (format!("smptehdbars=s={SIZE}:r=30,hue=h='{hue}+t*40'"), "Late night broadcast vibes #retro #tv #aesthetic"),
        6 => (format!("gradients=s={SIZE}:r=30:speed=0.05:type=radial:seed={index}"), "Breathe in, breathe out #calm #meditation #gradients"),
        _ => (format!("mandelbrot=s={SIZE}:r=30:start_x=-0.743643887037151:start_y=0.13182590420533:start_scale=0.5:end_scale=0.0005,hue=h={hue}"), "Deeper than your last relationship #mandelbrot #satisfying"),
    };
    let audio = format!(
        "aevalsrc='0.25*sin(2*PI*{freq}*t)*(0.6+0.4*sin(2*PI*2*t))+0.15*sin(2*PI*{}*t)':s=44100",
        freq * 3 / 2
    );
    DemoClip {
        video,
        audio,
        caption,
    }
}

/// Renders `clip` for `seconds` seconds into `out` (an MP4).
pub async fn render_demo_clip(
    tools: &Tools,
    clip: &DemoClip,
    seconds: u32,
    out: &Path,
) -> Result<(), MediaError> {
    let secs = seconds.to_string();
    let args: Vec<std::ffi::OsString> = [
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-t",
        &secs,
        "-i",
        &clip.video,
        "-f",
        "lavfi",
        "-t",
        &secs,
        "-i",
        &clip.audio,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
    ]
    .iter()
    .map(Into::into)
    .chain(std::iter::once(out.as_os_str().to_owned()))
    .collect();
    process::run(&tools.ffmpeg, &args, tools.transcode_timeout)
        .await
        .map(|_| ())
}
