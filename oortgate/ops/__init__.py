"""S3 operation handlers, one module per family; HANDLERS maps routing's names to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oortgate.ops import (
    acl,
    archive,
    bucket,
    bucket_controls,
    cors_ops,
    delete,
    listing,
    multipart,
    multipart_listing,
    object_attributes,
    object_read,
    object_write,
    post_object,
    service,
    tagging,
)
from oortgate.ops.context import Context
from oortgate.ops.response import Response

Handler = Callable[[Context], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": service.list_buckets,
    "CreateBucket": bucket.create_bucket,
    "DeleteBucket": bucket.delete_bucket,
    "HeadBucket": bucket.head_bucket,
    "GetBucketLocation": bucket.get_bucket_location,
    "GetBucketVersioning": bucket.get_bucket_versioning,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "ListObjectVersions": listing.list_object_versions,
    "GetObject": object_read.get_object,
    "HeadObject": object_read.head_object,
    "PutObject": object_write.put_object,
    "CopyObject": object_write.copy_object,
    "DeleteObject": delete.delete_object,
    "DeleteObjects": delete.delete_objects,
    "CreateMultipartUpload": multipart.create_multipart_upload,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": multipart.upload_part_copy,
    "CompleteMultipartUpload": multipart.complete_multipart_upload,
    "AbortMultipartUpload": multipart.abort_multipart_upload,
    "ListParts": multipart_listing.list_parts,
    "ListMultipartUploads": multipart_listing.list_multipart_uploads,
    "GetBucketAcl": acl.get_bucket_acl,
    "PutBucketAcl": acl.put_bucket_acl,
    "GetObjectAcl": acl.get_object_acl,
    "PutObjectAcl": acl.put_object_acl,
    "PostObject": post_object.post_object,
    "PutBucketCors": cors_ops.put_bucket_cors,
    "GetBucketCors": cors_ops.get_bucket_cors,
    "DeleteBucketCors": cors_ops.delete_bucket_cors,
    "Preflight": cors_ops.preflight,
    "RestoreObject": archive.restore_object,
    "GetObjectAttributes": object_attributes.get_object_attributes,
    "PutObjectTagging": tagging.put_object_tagging,
    "GetObjectTagging": tagging.get_object_tagging,
    "DeleteObjectTagging": tagging.delete_object_tagging,
    "PutBucketTagging": tagging.put_bucket_tagging,
    "GetBucketTagging": tagging.get_bucket_tagging,
    "DeleteBucketTagging": tagging.delete_bucket_tagging,
    "PutBucketOwnershipControls": bucket_controls.put_bucket_ownership_controls,
    "GetBucketOwnershipControls": bucket_controls.get_bucket_ownership_controls,
    "DeleteBucketOwnershipControls": bucket_controls.delete_bucket_ownership_controls,
    "PutPublicAccessBlock": bucket_controls.put_public_access_block,
    "GetPublicAccessBlock": bucket_controls.get_public_access_block,
    "DeletePublicAccessBlock": bucket_controls.delete_public_access_block,
}
