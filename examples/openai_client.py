"""The official `openai` SDK's Videos API, pointed at a local stillmotion.

Only `base_url` and `api_key` differ from code written for api.openai.com. Usage:

    STILLMOTION_API_KEY=sm-... python examples/openai_client.py portrait.jpg "she smiles and the camera slowly zooms in"
"""

import os
import sys
import time

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("STILLMOTION_BASE_URL", "http://127.0.0.1:8000") + "/v1",
    api_key=os.environ["STILLMOTION_API_KEY"],
)

with open(sys.argv[1], "rb") as image:
    video = client.videos.create(model="sora-2", prompt=sys.argv[2], input_reference=image, seconds="4")
while video.status in ("queued", "in_progress"):
    print(video.status, video.progress)
    time.sleep(1)
    video = client.videos.retrieve(video.id)
print(video.status, video.progress)
if video.status != "completed":
    sys.exit(f"failed: {video.error}")
client.videos.download_content(video.id).write_to_file("video.mp4")
client.videos.download_content(video.id, variant="thumbnail").write_to_file("thumbnail.webp")
print("saved video.mp4 and thumbnail.webp")
