namespace MlNetTransfer.Serving;

/// <summary>The web API's resident memory after <see cref="Requests"/> requests of a soak.</summary>
public sealed record SoakPoint(int Requests, double ResidentMegabytes);
