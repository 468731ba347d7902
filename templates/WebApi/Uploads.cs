namespace WebApi;

/// <summary>Reads the image of a POST /predict: the first file of a multipart form, or the raw body.</summary>
public static class Uploads
{
    public static async Task<byte[]> Read(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        Stream source;
        long? length = request.ContentLength;
        // a multipart form (a browser's file upload, curl -F); any other body is the image itself (curl --data-binary
        // sends its bytes as application/x-www-form-urlencoded unless told otherwise)
        if (request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(cancellation);
            }
            catch (InvalidDataException e) when (e.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase))
            {
                throw TooLarge(maxBytes);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                throw new UploadException(StatusCodes.Status400BadRequest, $"the form could not be read: {e.Message}");
            }
            var file = form.Files.FirstOrDefault()
                ?? throw new UploadException(StatusCodes.Status400BadRequest, "the form holds no file: send the image as a file field (curl -F image=@photo.jpg)");
            source = file.OpenReadStream();
            length = file.Length;
        }
        else source = request.Body;

        await using (source)
        {
            if (length is > 0 and var known && known <= maxBytes)
            {
                // the size is announced: read straight into an array of that size (a camera photo is megabytes)
                var bytes = new byte[known];
                try
                {
                    await source.ReadExactlyAsync(bytes, cancellation);
                }
                catch (EndOfStreamException)
                {
                    throw new UploadException(StatusCodes.Status400BadRequest, $"the upload ended before the {known} bytes it announced");
                }
                return bytes;
            }
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await source.ReadAsync(chunk, cancellation)) > 0)
            {
                if (buffer.Length + read > maxBytes) throw TooLarge(maxBytes);
                buffer.Write(chunk, 0, read);
            }
            if (buffer.Length == 0)
                throw new UploadException(StatusCodes.Status400BadRequest, "no image: the upload is empty (POST the image's bytes, or a form with the image as a file)");
            return buffer.ToArray();
        }
    }

    static UploadException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"the upload is over {maxBytes} bytes (Model:MaxUploadBytes in appsettings.json)");
}

/// <summary>An upload refused before decoding, with the HTTP status and the reason.</summary>
public sealed class UploadException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}
