"""MiniMax's native three-step flow (create, query, retrieve the file), pointed at a local stillmotion.

Only the base URL and the key differ from code written for api.minimax.io. Usage:

    STILLMOTION_API_KEY=sm-... python examples/minimax_client.py portrait.jpg "she smiles, then the camera zooms in"
"""

import base64
import os
import sys
import time

import requests

base_url = os.environ.get("STILLMOTION_BASE_URL", "http://127.0.0.1:8000")  # was https://api.minimax.io
api_key = os.environ["STILLMOTION_API_KEY"]
headers = {"Authorization": f"Bearer {api_key}"}

with open(sys.argv[1], "rb") as image:
    first_frame = "data:image/jpeg;base64," + base64.b64encode(image.read()).decode()

created = requests.post(
    f"{base_url}/v1/video_generation",
    headers=headers,
    json={"model": "I2V-01-live", "prompt": sys.argv[2], "first_frame_image": first_frame},
    timeout=60,
).json()
if created["base_resp"]["status_code"] != 0:
    sys.exit(created["base_resp"]["status_msg"])
task_id = created["task_id"]

while True:
    task = requests.get(
        f"{base_url}/v1/query/video_generation", headers=headers, params={"task_id": task_id}, timeout=30
    ).json()
    print("Status:", task["status"])
    if task["status"] == "Success":
        break
    if task["status"] == "Fail":
        sys.exit(task["base_resp"]["status_msg"])
    time.sleep(2)

file = requests.get(
    f"{base_url}/v1/files/retrieve", headers=headers, params={"file_id": task["file_id"]}, timeout=30
).json()["file"]
with open("output.mp4", "wb") as out:
    out.write(requests.get(file["download_url"], timeout=60).content)
print(f"saved output.mp4 ({task['video_width']}x{task['video_height']}, {file['bytes']} bytes)")
