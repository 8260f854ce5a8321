"""genart studio: `python app.py [--host H] [--port P] [--share]` serves the full multi-tab app."""
import argparse

from genart_demo.ui.app import launch
from leaderboard.arena_ui import build_arena_ui
from leaderboard.ui import build_leaderboard_ui

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", help="address to bind (default GENART_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default GENART_PORT or 7860)")
    parser.add_argument("--share", action="store_true", default=None, help="ask Gradio for a public link")
    args = parser.parse_args()
    launch(host=args.host, port=args.port, share=args.share,
           extra_pages={"Leaderboard": build_leaderboard_ui, "Arena": build_arena_ui})
