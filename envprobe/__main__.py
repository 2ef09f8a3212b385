from envprobe.cli import run

run()
