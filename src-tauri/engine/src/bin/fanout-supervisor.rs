//! Fanout's process supervisor on its own; see `fanout_engine::supervisor`.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // Also accept the flag the multi-call binaries take, so one argument
    // list serves both.
    let args = match args.first() {
        Some(flag) if flag == fanout_engine::supervisor::FLAG => args[1..].to_vec(),
        _ => args,
    };
    std::process::exit(fanout_engine::supervisor::main(args));
}
