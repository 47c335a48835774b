"""S3 operation handlers, one module per family; HANDLERS maps routing's Op to them.

Every Op has a handler but those the server answers itself (SERVER_ANSWERED)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oortgate.ops import (
    acl,
    archive,
    bucket,
    bucket_controls,
    bucket_lifecycle,
    bucket_policy,
    cors_ops,
    delete,
    listing,
    multipart,
    multipart_listing,
    object_attributes,
    object_lock,
    object_read,
    object_write,
    post_object,
    service,
    tagging,
    versioning,
)
from oortgate.ops.context import Context
from oortgate.ops.operations import Op
from oortgate.ops.response import Response

Handler = Callable[[Context], Awaitable[Response]]
SERVER_ANSWERED = frozenset({Op.Health, Op.NotImplemented})

HANDLERS: dict[Op, Handler] = {
    Op.ListBuckets: service.list_buckets,
    Op.CreateBucket: bucket.create_bucket,
    Op.DeleteBucket: bucket.delete_bucket,
    Op.HeadBucket: bucket.head_bucket,
    Op.GetBucketLocation: bucket.get_bucket_location,
    Op.GetBucketVersioning: versioning.get_bucket_versioning,
    Op.PutBucketVersioning: versioning.put_bucket_versioning,
    Op.ListObjects: listing.list_objects,
    Op.ListObjectsV2: listing.list_objects_v2,
    Op.ListObjectVersions: listing.list_object_versions,
    Op.GetObject: object_read.get_object,
    Op.HeadObject: object_read.head_object,
    Op.PutObject: object_write.put_object,
    Op.CopyObject: object_write.copy_object,
    Op.DeleteObject: delete.delete_object,
    Op.DeleteObjects: delete.delete_objects,
    Op.CreateMultipartUpload: multipart.create_multipart_upload,
    Op.UploadPart: multipart.upload_part,
    Op.UploadPartCopy: multipart.upload_part_copy,
    Op.CompleteMultipartUpload: multipart.complete_multipart_upload,
    Op.AbortMultipartUpload: multipart.abort_multipart_upload,
    Op.ListParts: multipart_listing.list_parts,
    Op.ListMultipartUploads: multipart_listing.list_multipart_uploads,
    Op.GetBucketAcl: acl.get_bucket_acl,
    Op.PutBucketAcl: acl.put_bucket_acl,
    Op.GetObjectAcl: acl.get_object_acl,
    Op.PutObjectAcl: acl.put_object_acl,
    Op.PostObject: post_object.post_object,
    Op.PutBucketCors: cors_ops.put_bucket_cors,
    Op.GetBucketCors: cors_ops.get_bucket_cors,
    Op.DeleteBucketCors: cors_ops.delete_bucket_cors,
    Op.Preflight: cors_ops.preflight,
    Op.RestoreObject: archive.restore_object,
    Op.GetObjectAttributes: object_attributes.get_object_attributes,
    Op.PutObjectTagging: tagging.put_object_tagging,
    Op.GetObjectTagging: tagging.get_object_tagging,
    Op.DeleteObjectTagging: tagging.delete_object_tagging,
    Op.PutBucketTagging: tagging.put_bucket_tagging,
    Op.GetBucketTagging: tagging.get_bucket_tagging,
    Op.DeleteBucketTagging: tagging.delete_bucket_tagging,
    Op.PutBucketOwnershipControls: bucket_controls.put_bucket_ownership_controls,
    Op.GetBucketOwnershipControls: bucket_controls.get_bucket_ownership_controls,
    Op.DeleteBucketOwnershipControls: bucket_controls.delete_bucket_ownership_controls,
    Op.PutPublicAccessBlock: bucket_controls.put_public_access_block,
    Op.GetPublicAccessBlock: bucket_controls.get_public_access_block,
    Op.DeletePublicAccessBlock: bucket_controls.delete_public_access_block,
    Op.PutBucketPolicy: bucket_policy.put_bucket_policy,
    Op.GetBucketPolicy: bucket_policy.get_bucket_policy,
    Op.DeleteBucketPolicy: bucket_policy.delete_bucket_policy,
    Op.GetBucketPolicyStatus: bucket_policy.get_bucket_policy_status,
    Op.PutBucketLifecycleConfiguration: bucket_lifecycle.put_bucket_lifecycle,
    Op.GetBucketLifecycleConfiguration: bucket_lifecycle.get_bucket_lifecycle,
    Op.DeleteBucketLifecycle: bucket_lifecycle.delete_bucket_lifecycle,
    Op.PutObjectLockConfiguration: object_lock.put_object_lock_configuration,
    Op.GetObjectLockConfiguration: object_lock.get_object_lock_configuration,
    Op.PutObjectRetention: object_lock.put_object_retention,
    Op.GetObjectRetention: object_lock.get_object_retention,
    Op.PutObjectLegalHold: object_lock.put_object_legal_hold,
    Op.GetObjectLegalHold: object_lock.get_object_legal_hold,
}
