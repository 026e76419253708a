//! The floor for `render --out`: a process that writes the same bytes to the
//! same files and does nothing else. `pack` gathers a rendered tree into one
//! file (once, untimed); `unpack` is what is timed: read that one file, make
//! each folder once, write each file.
//!
//!   write_floor pack TREE PACK
//!   write_floor unpack PACK OUT

use std::fs;
use std::io::Write;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("pack") if args.len() == 4 => pack(Path::new(&args[2]), Path::new(&args[3])),
        Some("unpack") if args.len() == 4 => unpack(Path::new(&args[2]), Path::new(&args[3])),
        _ => {
            eprintln!("usage: write_floor pack TREE PACK | write_floor unpack PACK OUT");
            std::process::exit(2);
        }
    }
}

/// Records of `relative path \0 length \n bytes`, folders in order.
fn pack(tree: &Path, pack: &Path) {
    let mut out = fs::File::create(pack).expect("create the pack");
    let mut folders: Vec<_> = fs::read_dir(tree)
        .expect("read the tree")
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    for folder in folders {
        let mut files: Vec<_> = fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let bytes = fs::read(&file).unwrap();
            let relative = file.strip_prefix(tree).unwrap().to_str().unwrap();
            write!(out, "{relative}\0{}\n", bytes.len()).unwrap();
            out.write_all(&bytes).unwrap();
        }
    }
}

fn unpack(pack: &Path, out: &Path) {
    let data = fs::read(pack).expect("read the pack");
    fs::create_dir_all(out).expect("create the output folder");
    let mut made = String::new();
    let mut at = 0;
    while at < data.len() {
        let nul = at + data[at..].iter().position(|&b| b == 0).unwrap();
        let newline = nul + data[nul..].iter().position(|&b| b == b'\n').unwrap();
        let relative = std::str::from_utf8(&data[at..nul]).unwrap();
        let length: usize = std::str::from_utf8(&data[nul + 1..newline])
            .unwrap()
            .parse()
            .unwrap();
        let folder = relative.rsplit_once('/').map_or("", |(f, _)| f);
        if folder != made {
            fs::create_dir(out.join(folder)).unwrap();
            made = folder.to_string();
        }
        let body = &data[newline + 1..newline + 1 + length];
        fs::write(out.join(relative), body).unwrap();
        at = newline + 1 + length;
    }
}
