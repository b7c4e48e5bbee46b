"""The hand-written script a user would otherwise use: the same EC2 calls as `prism save`
(stop, image, restart as soon as the snapshots exist, wait, tag, copy to regions in parallel,
tag the copies, write a template file), in the same order, with boto3.

Usage: boto3_save.py ENDPOINT REGION INSTANCE_ID NAME COPY_REGION... (prints the AMI ids)
"""
import concurrent.futures
import sys
import time

import boto3


def client(endpoint, region, service="ec2"):
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def wait(fn, done, interval=0.05, timeout=600):
    start = time.time()
    while True:
        value = fn()
        if done(value):
            return value
        if time.time() - start > timeout:
            raise TimeoutError("wait timed out")
        time.sleep(interval)


def main():
    endpoint, region, instance_id, name, *copies = sys.argv[1:]
    ec2 = client(endpoint, region)
    state = lambda: ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]
    client(endpoint, region, "sts").get_caller_identity()
    ec2.describe_regions()
    ec2.stop_instances(InstanceIds=[instance_id])
    wait(state, lambda s: s == "stopped")
    image_id = ec2.create_image(InstanceId=instance_id, Name=name, NoReboot=True,
                                TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "prism:saved-template", "Value": name}]}])["ImageId"]
    img = lambda: ec2.describe_images(ImageIds=[image_id])["Images"][0]
    snaps = [b["Ebs"]["SnapshotId"] for b in wait(img, lambda i: any("Ebs" in b for b in i.get("BlockDeviceMappings", [])))["BlockDeviceMappings"] if "Ebs" in b]
    ec2.create_tags(Resources=snaps, Tags=[{"Key": "prism:operation", "Value": name}])
    ec2.start_instances(InstanceIds=[instance_id])
    wait(state, lambda s: s == "running")
    wait(img, lambda i: i["State"] == "available")
    tags = [{"Key": "prism:saved-template", "Value": name}, {"Key": "prism:saved-version", "Value": "1"}]
    ec2.create_tags(Resources=[image_id] + snaps, Tags=tags)

    def copy(dest):
        d = client(endpoint, dest)
        copy_id = d.copy_image(SourceRegion=region, SourceImageId=image_id, Name=name)["ImageId"]
        cimg = lambda: d.describe_images(ImageIds=[copy_id])["Images"][0]
        got = wait(cimg, lambda i: i["State"] == "available")
        csnaps = [b["Ebs"]["SnapshotId"] for b in got.get("BlockDeviceMappings", []) if "Ebs" in b]
        d.create_tags(Resources=[copy_id] + csnaps, Tags=tags)
        return copy_id

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(copies))) as pool:
        copy_ids = list(pool.map(copy, copies))
    with open(f"/tmp/{name}.yaml", "w") as f:
        f.write(f"name: {name}\nami_config:\n  amis:\n    {region}: {{x86_64: {image_id}}}\n")
        for r, c in zip(copies, copy_ids):
            f.write(f"    {r}: {{x86_64: {c}}}\n")
    print(image_id, *copy_ids)


if __name__ == "__main__":
    main()
