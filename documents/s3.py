"""S3 storage for originals (used when S3_BUCKET is set)."""

from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class DiskBackedS3Storage(S3Storage):
    """Sends an upload that is already on disk by its path.

    django-storages hands boto3 a file object, and s3transfer then holds the parts of a multipart
    upload in memory (about 60 MiB for a 256 MiB file); given a path it reads each part as it
    sends it (about 12 MiB). Uploads always arrive on disk (FILE_UPLOAD_MAX_MEMORY_SIZE = 0).
    """

    def _save(self, name, content):
        if not hasattr(content, "temporary_file_path"):
            return super()._save(name, content)
        cleaned_name = clean_name(name)
        key = self._normalize_name(cleaned_name)
        self.bucket.Object(key).upload_file(
            content.temporary_file_path(),
            ExtraArgs=self._get_write_parameters(key, content),
            Config=self.transfer_config,
        )
        return cleaned_name
