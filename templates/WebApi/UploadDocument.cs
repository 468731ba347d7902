using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace WebApi;

/// <summary>What the OpenAPI document says POST /predict takes (its endpoint's operation transformer): a form with the image as a file field, or the image's
/// bytes as the body. The endpoint reads the request itself (Uploads), so nothing in its signature says so — and an
/// Accepts() constraint would answer 415 to a content type it does not list, where the app answers with its reason.</summary>
public static class UploadDocument
{
    static readonly string[] ImageTypes = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "application/octet-stream"];

    public static Task Describe(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellation)
    {
        var content = new Dictionary<string, OpenApiMediaType>
        {
            // the field is named image here; the app reads the form's first file, whatever its name
            ["multipart/form-data"] = new()
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object, Required = new HashSet<string> { "image" },
                    Properties = new Dictionary<string, IOpenApiSchema> { ["image"] = Binary() },
                },
            },
        };
        foreach (var type in ImageTypes) content[type] = new() { Schema = Binary() };
        operation.RequestBody = new OpenApiRequestBody { Required = true, Content = content, Description = "one image: JPEG, PNG, WebP, GIF or BMP" };
        return Task.CompletedTask;
    }

    static OpenApiSchema Binary() => new() { Type = JsonSchemaType.String, Format = "binary" };
}
