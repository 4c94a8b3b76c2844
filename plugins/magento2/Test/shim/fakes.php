<?php
/**
 * In-memory implementations of the Magento interfaces the module depends on, for tests.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Test\Shim;

use Magento\Framework\App\CacheInterface;
use Magento\Framework\App\Config\ScopeConfigInterface;
use Magento\Framework\App\RequestInterface;
use Magento\Framework\Encryption\EncryptorInterface;
use Magento\Framework\Exception\NoSuchEntityException;
use Magento\Framework\Message\ManagerInterface;
use Magento\Framework\UrlInterface;
use Magento\Quote\Api\CartRepositoryInterface;
use Magento\Quote\Model\Quote;
use Magento\Store\Model\Store;
use Magento\Store\Model\StoreManagerInterface;
use Psr\Log\LoggerInterface;

/** Values by path, with store-scope overrides as Magento resolves them (store, then default). */
class ScopeConfig implements ScopeConfigInterface
{
    /** @param array<string, mixed> $values */
    public function __construct(public array $values = [], public array $storeValues = [])
    {
    }

    public function getValue(string $path, string $scopeType = self::SCOPE_TYPE_DEFAULT, mixed $scopeCode = null): mixed
    {
        return $this->storeValues[(string) $scopeCode][$path] ?? $this->values[$path] ?? null;
    }

    public function isSetFlag(string $path, string $scopeType = self::SCOPE_TYPE_DEFAULT, mixed $scopeCode = null): bool
    {
        return (bool) $this->getValue($path, $scopeType, $scopeCode);
    }
}

/** Real authenticated encryption (libsodium, as Magento 2.4 uses), so a test can tell ciphertext from secret. */
class Encryptor implements EncryptorInterface
{
    private string $key;

    public function __construct()
    {
        $this->key = str_repeat("\x42", SODIUM_CRYPTO_SECRETBOX_KEYBYTES);
    }

    public function encrypt(string $data): string
    {
        $nonce = random_bytes(SODIUM_CRYPTO_SECRETBOX_NONCEBYTES);
        return '0:3:' . base64_encode($nonce . sodium_crypto_secretbox($data, $nonce, $this->key));
    }

    public function decrypt(string $data): string
    {
        $raw = base64_decode(substr($data, 4), true);
        if (!str_starts_with($data, '0:3:') || $raw === false) {
            return '';
        }
        $nonce = substr($raw, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES);
        $plain = sodium_crypto_secretbox_open(substr($raw, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES), $nonce, $this->key);
        return $plain === false ? '' : $plain;
    }
}

class Cache implements CacheInterface
{
    /** @var array<string, string> */
    public array $entries = [];

    public function load(string $identifier): string|false
    {
        return $this->entries[$identifier] ?? false;
    }

    public function save(string $data, string $identifier, array $tags = [], ?int $lifeTime = null): bool
    {
        $this->entries[$identifier] = $data;
        return true;
    }

    public function remove(string $identifier): bool
    {
        unset($this->entries[$identifier]);
        return true;
    }
}

class Logger implements LoggerInterface
{
    /** @var list<array{string, string, array}> */
    public array $records = [];

    public function error(string|\Stringable $message, array $context = []): void
    {
        $this->records[] = ['error', (string) $message, $context];
    }

    public function warning(string|\Stringable $message, array $context = []): void
    {
        $this->records[] = ['warning', (string) $message, $context];
    }

    public function info(string|\Stringable $message, array $context = []): void
    {
        $this->records[] = ['info', (string) $message, $context];
    }
}

class StoreManager implements StoreManagerInterface
{
    /** @param array<int, Store> $stores */
    public function __construct(public array $stores, public int $current = 1)
    {
    }

    public function getStore(mixed $storeId = null): Store
    {
        return $this->stores[(int) ($storeId ?? $this->current)];
    }
}

class Request implements RequestInterface
{
    /** @param array<string, mixed> $params */
    public function __construct(public array $params = [])
    {
    }

    public function getParam(string $key, mixed $defaultValue = null): mixed
    {
        return $this->params[$key] ?? $defaultValue;
    }

    public function getParams(): array
    {
        return $this->params;
    }
}

class Messages implements ManagerInterface
{
    /** @var list<array{string, string}> */
    public array $messages = [];

    public function addErrorMessage(string $message, ?string $group = null): static
    {
        $this->messages[] = ['error', $message];
        return $this;
    }

    public function addWarningMessage(string $message, ?string $group = null): static
    {
        $this->messages[] = ['warning', $message];
        return $this;
    }

    public function addNoticeMessage(string $message, ?string $group = null): static
    {
        $this->messages[] = ['notice', $message];
        return $this;
    }

    public function addSuccessMessage(string $message, ?string $group = null): static
    {
        $this->messages[] = ['success', $message];
        return $this;
    }
}

class Url implements UrlInterface
{
    public function __construct(private string $base)
    {
    }

    public function getUrl(?string $routePath = null, ?array $routeParams = null): string
    {
        return rtrim($this->base, '/') . '/' . trim((string) $routePath, '/') . '/';
    }
}

class Quotes implements CartRepositoryInterface
{
    /** @var array<int, Quote> */
    public array $quotes = [];
    public int $saves = 0;

    public function get(int $cartId, array $sharedStoreIds = []): Quote
    {
        if (!isset($this->quotes[$cartId])) {
            throw new NoSuchEntityException("No such entity with cartId = $cartId");
        }
        return $this->quotes[$cartId];
    }

    public function save(Quote $quote): void
    {
        $this->saves++;
        $this->quotes[(int) $quote->getId()] = $quote;
    }
}
