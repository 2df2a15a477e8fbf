"""The hosted video-01-live2d client flow, pointed at a local stillmotion.

Only three things differ from code written for the hosted API: the base URL, the key, and the first frame,
sent as base64 from a local file. Usage:

    STILLMOTION_API_KEY=sm-... python examples/seed_client.py portrait.jpg "she smiles, the camera slowly zooms in"
"""

import base64
import os
import sys
import time

import requests

api_key = os.environ.get("STILLMOTION_API_KEY", "<YOUR_STILLMOTION_API_KEY>")
base_url = os.environ.get("STILLMOTION_BASE_URL", "http://127.0.0.1:8000") + "/v2"  # was https://api.aimlapi.com/v2
route = f"{base_url}/generate/video/minimax/generation"
headers = {"Authorization": f"Bearer {api_key}"}


def start(image_path, prompt):
    with open(image_path, "rb") as image:
        first_frame = base64.b64encode(image.read()).decode()
    payload = {"model": "video-01-live2d", "prompt": prompt, "first_frame_image": first_frame}
    response = requests.post(route, json=payload, headers=headers, timeout=60)
    if response.status_code >= 400:
        sys.exit(f"Error: {response.status_code} - {response.text}")
    return response.json()["generation_id"]


def wait(generation_id, timeout_s=600, every_s=2):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        result = requests.get(route, params={"generation_id": generation_id}, headers=headers, timeout=30).json()
        print("Status:", result.get("status"))
        if result.get("status") in ("queued", "generating", "waiting", "active"):
            time.sleep(every_s)
            continue
        return result
    sys.exit("Timeout reached.")


if __name__ == "__main__":
    gen_id = start(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "gentle breathing, a slow push in")
    print("Generation ID:", gen_id)
    final = wait(gen_id)
    print("Final:", final)
    if final.get("status") == "completed":
        video = requests.get(final["video"]["url"], timeout=60)
        with open("output.mp4", "wb") as out:
            out.write(video.content)
        print("Saved output.mp4,", len(video.content), "bytes")
