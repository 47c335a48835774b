"""One exception type for every S3 error, and one table of codes.

Handlers raise ``S3Error("NoSuchKey", key=...)`` (the common codes have names too:
``S3Error(NO_SUCH_KEY, ...)``); the server renders it as the XML body AWS documents, with
the status from ``STATUS``. Extra keyword fields become extra XML elements (``Key``,
``BucketName``, ``RequestTime``...).
"""

from __future__ import annotations

from typing import Final

STATUS: dict[str, int] = {
    "AccessControlListNotSupported": 400,
    "AccessDenied": 403,
    "AccessForbidden": 403,
    "AccountProblem": 403,
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "BadDigest": 400,
    "BadRequest": 400,
    "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "ConditionalRequestConflict": 409,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "IllegalLocationConstraintException": 400,
    "IncompleteBody": 400,
    "InternalError": 500,
    "InsufficientStorage": 507,  # not AWS's: see README, "Full disk"
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidBucketAclWithObjectOwnership": 400,
    "InvalidBucketName": 400,
    "InvalidBucketOwnerAWSAccountID": 400,
    "InvalidBucketState": 409,
    "InvalidChunkSizeError": 400,
    "InvalidDigest": 400,
    "InvalidLocationConstraint": 400,
    "InvalidObjectState": 403,
    "InvalidPolicyDocument": 400,
    "InvalidPartNumber": 416,
    "InvalidPart": 400,
    "InvalidPartOrder": 400,
    "InvalidRange": 416,
    "InvalidRequest": 400,
    "InvalidStorageClass": 400,
    "InvalidTag": 400,
    "InvalidURI": 400,
    "KeyTooLongError": 400,
    "MalformedTrailerError": 400,
    "MalformedACLError": 400,
    "MalformedPOSTRequest": 400,
    "MalformedPolicy": 400,
    "MalformedXML": 400,
    "IllegalVersioningConfigurationException": 400,
    "MetadataTooLarge": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "MissingSecurityHeader": 400,
    "NoSuchBucket": 404,
    "NoSuchBucketPolicy": 404,
    "NoSuchCORSConfiguration": 404,
    "NoSuchLifecycleConfiguration": 404,
    "NoSuchKey": 404,
    "NoSuchPublicAccessBlockConfiguration": 404,
    "NoSuchTagSet": 404,
    "NoSuchUpload": 404,
    "NoSuchVersion": 404,
    "NoSuchObjectLockConfiguration": 404,
    "ObjectLockConfigurationNotFoundError": 404,
    "NotImplemented": 501,
    "NotModified": 304,
    "OwnershipControlsNotFoundError": 404,
    "PermanentRedirect": 301,
    "PreconditionFailed": 412,
    "RequestHeaderSectionTooLarge": 400,
    "RequestTimeTooSkewed": 403,
    "RequestTimeout": 400,
    "RestoreAlreadyInProgress": 409,
    "ServiceUnavailable": 503,
    "SignatureDoesNotMatch": 403,
    "SlowDown": 503,
    "TooManyBuckets": 400,
    "UnexpectedContent": 400,
    "UnresolvableGrantByEmailAddress": 400,
    "XAmzContentSHA256Mismatch": 400,
}

# The codes raised most often, by name (a typo is then a NameError, not a silent 400).
ACCESS_DENIED: Final = "AccessDenied"
INTERNAL_ERROR: Final = "InternalError"
INVALID_ARGUMENT: Final = "InvalidArgument"
INVALID_REQUEST: Final = "InvalidRequest"
MALFORMED_XML: Final = "MalformedXML"
NO_SUCH_BUCKET: Final = "NoSuchBucket"
NO_SUCH_KEY: Final = "NoSuchKey"
NO_SUCH_UPLOAD: Final = "NoSuchUpload"
NOT_IMPLEMENTED: Final = "NotImplemented"

DEFAULT_MESSAGE: dict[str, str] = {
    "AccessDenied": "Access Denied",
    "AuthorizationHeaderMalformed": "The authorization header is malformed.",
    "BadDigest": "The Content-MD5 or checksum you specified did not match what we received.",
    "BucketAlreadyExists": "The requested bucket name is not available. The bucket namespace "
    "is shared by all users of the system. Please select a different name and try again.",
    "BucketAlreadyOwnedByYou": "Your previous request to create the named bucket succeeded "
    "and you already own it.",
    "BucketNotEmpty": "The bucket you tried to delete is not empty",
    "ConditionalRequestConflict": "The conditional request cannot succeed due to a "
    "conflicting operation against this resource.",
    "EntityTooLarge": "Your proposed upload exceeds the maximum allowed size",
    "EntityTooSmall": "Your proposed upload is smaller than the minimum allowed object size.",
    "IncompleteBody": "You did not provide the number of bytes specified by the "
    "Content-Length HTTP header.",
    "InternalError": "We encountered an internal error. Please try again.",
    "InsufficientStorage": "The server does not have enough free space to store this "
    "request. Please delete a few objects to proceed.",
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
    "InvalidBucketName": "The specified bucket is not valid.",
    "InvalidDigest": "The Content-MD5 you specified is not valid.",
    "InvalidLocationConstraint": "The specified location-constraint is not valid",
    "InvalidRange": "The requested range is not satisfiable",
    "KeyTooLongError": "Your key is too long",
    "MalformedXML": "The XML you provided was not well-formed or did not validate against "
    "our published schema.",
    "MetadataTooLarge": "Your metadata headers exceed the maximum allowed metadata size.",
    "MethodNotAllowed": "The specified method is not allowed against this resource.",
    "MissingContentLength": "You must provide the Content-Length HTTP header.",
    "NoSuchBucket": "The specified bucket does not exist",
    "NoSuchBucketPolicy": "The bucket policy does not exist",
    "NoSuchLifecycleConfiguration": "The lifecycle configuration does not exist",
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchPublicAccessBlockConfiguration": "The public access block configuration was not "
    "found",
    "NoSuchTagSet": "The TagSet does not exist",
    "NoSuchUpload": "The specified multipart upload does not exist.",
    "NoSuchVersion": "The specified version does not exist.",
    "NotImplemented": "A header or operation you provided implies functionality that is "
    "not implemented.",
    "OwnershipControlsNotFoundError": "The bucket ownership controls were not found",
    "ObjectLockConfigurationNotFoundError": "Object Lock configuration does not exist for "
    "this bucket",
    "NoSuchObjectLockConfiguration": "The specified object does not have a ObjectLock "
    "configuration",
    "PreconditionFailed": "At least one of the pre-conditions you specified did not hold",
    "RequestTimeTooSkewed": "The difference between the request time and the current time "
    "is too large.",
    "SignatureDoesNotMatch": "The request signature we calculated does not match the "
    "signature you provided. Check your key and signing method.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "SlowDown": "Please reduce your request rate.",
    "TooManyBuckets": "You have attempted to create more buckets than allowed",
    "XAmzContentSHA256Mismatch": "The provided 'x-amz-content-sha256' header does not match "
    "what was computed.",
}


class S3Error(Exception):
    """An S3 error response: code, HTTP status, message and extra XML fields."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> None:
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGE.get(code, code)
        self.status = status if status is not None else STATUS.get(code, 400)
        self.headers = headers or {}
        self.fields = fields
        super().__init__(f"{code}: {self.message}")


class BodyCut(Exception):
    """A response body cannot be completed after its status line went out: the server
    closes the connection (already logged where it happened; no traceback)."""


class StoreUnavailable(Exception):
    """A backend store cannot answer now (connection lost, pool exhausted, lock or
    statement timeout, retries exhausted): the server answers 503 with Retry-After,
    ``ServiceUnavailable`` or (``busy``: overloaded, not down) ``SlowDown``."""

    def __init__(self, message: str, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy

    @property
    def code(self) -> str:
        return "SlowDown" if self.busy else "ServiceUnavailable"
